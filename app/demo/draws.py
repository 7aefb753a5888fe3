"""The draws of the demo's set-based SQL."""


def draw(salt: str, *, seeded: bool = True) -> str:
    """SQL over facility `f`: a uniform number in [0, 1) for the purpose `salt`, hashed
    from the facility's place after :after_id (and the :seed parameter when `seeded`).
    Deterministic and parallel-safe, the same whatever ids a registry had handed out
    before, and cheap for 1,000,000 rows."""
    key = f"(f.id - :after_id)::text || {':seed || ' if seeded else ''}'{salt}'"
    return f"((hashtext({key}) & 2147483647)::float8 / 2147483648.0)"
