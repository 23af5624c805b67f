"""Who acts: users, roles, API keys, and the actor every audited verb names."""

from keel.identity.actor import Actor, require_role
from keel.identity.keys import hash_api_key, new_api_key
from keel.identity.ports import UserRepo
from keel.identity.roles import Role
from keel.identity.users import User

__all__ = ["Actor", "Role", "User", "UserRepo", "hash_api_key", "new_api_key", "require_role"]
