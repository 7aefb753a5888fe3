"""The messages of placing a facility in its divisions, written once for the API
(service.resolve_divisions) and the importer, which places every row at once (imports.checks)."""

from app.core.messages import Message

UNKNOWN_CODE = Message("{admin_code} is not a known GB/T 2260 division code")
NO_LONGER_VALID = Message("{admin_code} is no longer valid")
NOT_CONTAINED = Message("required: no loaded division boundary contains the location")
OUTSIDE = Message("lies outside {name} ({code}), the admin_code{where}")
OUTSIDE_WHERE = Message(", in {name} ({code})")
CONTRADICTS = Message("lies in {name} ({code}), which contradicts admin_code {admin_code}")
NO_PROVINCE = Message("does not belong to any province")
