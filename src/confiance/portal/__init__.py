"""The privacy center: customers sign in with an e-mailed code and manage their data."""
