"""[unit]: who this unit is and whose policy it enforces."""

from pydantic import Field

from appliance.config.base import Section


class UnitConfig(Section):
    unit_id: str = Field("dev-unit", description="Unit identifier, set by provisioning.",
                         pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    site: str = Field("bench", description="Where the unit is mounted (free text).")
    agency: str = Field("Development Agency", description="Agency that operates the unit.")
    alpr_administrator: str = Field(
        "not yet designated",
        description="Name/title of the ALPR administrator (Civ. Code §1798.90.51), "
        "shown on the console.")
    policy_file: str = Field(
        "", description="Path to the agency's usage and privacy policy (Markdown/text); "
        "empty = the built-in template.")
    data_dir: str = Field("/var/lib/alpr",
                          description="Writable directory for the store, keys and state.")
