"""The one error type the core raises, so the API can turn every refusal into the JSON shape of
design.md without each handler knowing the cases."""

from __future__ import annotations


class HallError(Exception):
    """A refusal a person should read: `message` is Chinese, fit for a kiosk or a clerk's pad."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def as_json(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


def bad_request(message: str, code: str = "bad_request") -> HallError:
    return HallError(400, code, message)


def invalid(message: str, code: str = "invalid") -> HallError:
    return HallError(422, code, message)


def not_found(message: str, code: str = "not_found") -> HallError:
    return HallError(404, code, message)


def conflict(message: str, code: str) -> HallError:
    return HallError(409, code, message)


def forbidden(message: str = "无权操作该窗口", code: str = "forbidden") -> HallError:
    return HallError(403, code, message)


def unauthenticated(message: str = "请先登录", code: str = "unauthenticated") -> HallError:
    return HallError(401, code, message)
