"""Domain exceptions; the API maps each to an HTTP status and a stable code."""


class DomainError(Exception):
    """Base class of the errors a client can act on."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(DomainError):
    """The requested resource does not exist."""

    code = "not_found"


class ConflictError(DomainError):
    """The request conflicts with the current state of a resource."""

    code = "conflict"


class BusinessRuleError(DomainError):
    """The request is well-formed but breaks a business rule."""

    code = "business_rule_violated"


class UnauthorizedError(DomainError):
    """Credentials are missing or wrong."""

    code = "unauthorized"
