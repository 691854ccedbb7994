"""manifest domain."""
