"""Error types raised for invalid user input."""


class InputError(ValueError):
    """Invalid user input: the message names the parameter, the value and the allowed range."""


def out_of_range(name: str, value: object, allowed: str, units: str = "") -> InputError:
    """Build the standard message for a parameter outside its allowed range."""
    unit = f" {units}" if units else ""
    return InputError(f"invalid value for '{name}': {value!r}{unit}; allowed: {allowed}")


class RunFailed(InputError):
    """A run stopped because the model could not be integrated with the given inputs
    (non-finite solution, step-size underflow, overflow, out of memory)."""
