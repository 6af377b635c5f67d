"""Common base for config sections: unknown keys are rejected, every field is documented."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section. Subclasses give every field a default and a description."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
