from tests.sdk.conftest import make_key

__all__ = ["make_key"]
