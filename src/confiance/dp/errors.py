"""Errors of differentially private queries. They name data sets, columns and analysts (an
actor label, pseudonymous), never a value of the data."""

from __future__ import annotations

from confiance.errors import NotFound, PermissionDenied, ValidationFailed

__all__ = [
    "BudgetExhausted",
    "BudgetNotSet",
    "DpError",
    "InvalidQuery",
    "NoBudget",
    "UnknownDataSet",
]


class DpError(ValidationFailed):
    code = "dp"
    title = "Differential privacy query error"


class UnknownDataSet(NotFound):
    code = "dp-unknown-dataset"
    title = "No such data set"

    def __init__(self, dataset: str, known: list[str]) -> None:
        super().__init__(
            f"there is no data set '{dataset}'; known data sets: {', '.join(known) or 'none'}.",
            dataset=dataset,
            known=known,
        )


class InvalidQuery(DpError):
    code = "dp-invalid-query"
    title = "The query is not valid for this data set"

    def __init__(self, problem: str, **fields: object) -> None:
        super().__init__(problem, **fields)


class NoBudget(PermissionDenied):
    """Refuses a query: there is no budget to spend."""

    code = "dp-no-budget"
    title = "No privacy budget"

    def __init__(self, *, dataset: str, analyst: str) -> None:
        super().__init__(
            f"'{analyst}' has no privacy budget on the data set '{dataset}'; an operator sets one "
            f"with 'confiance dp budget set {dataset} {analyst} --epsilon 1.0'.",
            dataset=dataset,
            analyst=analyst,
        )


class BudgetExhausted(PermissionDenied):
    """Raised before any data is read: a refused query spends nothing and learns nothing."""

    code = "dp-budget-exhausted"
    title = "Privacy budget spent"

    def __init__(self, *, dataset: str, analyst: str, requested: float, remaining: float) -> None:
        super().__init__(
            f"the query asks for epsilon {requested:g} but '{analyst}' has {remaining:g} left on "
            f"the data set '{dataset}'; ask for less, or ask an operator for a larger budget.",
            dataset=dataset,
            analyst=analyst,
            requested=requested,
            remaining=remaining,
        )


class BudgetNotSet(NotFound):
    """Answers a look-up of a budget that was never set."""

    code = "dp-budget-not-set"
    title = "No privacy budget is set"

    def __init__(self, *, dataset: str, analyst: str) -> None:
        super().__init__(
            f"No privacy budget is set for '{analyst}' on the data set '{dataset}'; an operator "
            f"sets one with 'confiance dp budget set {dataset} {analyst} --epsilon 1.0'.",
            dataset=dataset,
            analyst=analyst,
        )
