"""The one error type the core raises, so the API can turn every refusal into the JSON shape of
design.md without each handler knowing the cases.

People read `message` (kiosks, pads and manager pages show it as it is), so it is Chinese only:
no field names, state codes or English words. A machine that needs to know which field was
wrong reads `field` (the JSON key, e.g. "description") beside `code`. `label` gives the
Chinese name of a field for the message; `FIELD_LABELS` is the one table of those names.
Allowed ASCII in a message: ticket numbers (A001), digits, dates in 年月日 and punctuation.
"""

from __future__ import annotations

FIELD_LABELS = {
    "description": "反映内容", "contact": "联系方式", "service": "办理事项", "window": "窗口",
    "ticket": "号票", "number": "号码", "category": "分类", "comment": "评价意见",
    "level": "评价等级", "reasons": "评价原因", "indicators": "评价指标", "note": "说明",
    "reason": "原因", "outcome": "办理结果", "queue": "队列", "priority": "优先原因",
    "channel": "渠道", "kiosk": "取号机", "username": "用户名", "password": "密码",
    "role": "角色", "referral": "转办意见", "answer": "答复内容", "deadline": "整改期限",
    "department": "承办部门", "chief": "首席事务代表", "reached": "是否联系上",
    "classification": "定性", "class": "分类", "view": "群众意见", "upheld": "审核结果",
    "invited": "是否邀请评价", "from": "开始日期", "to": "结束日期", "limit": "条数",
    "status": "状态", "by": "统计方式", "offset": "起始位置", "needs_help": "是否需要帮办",
    "date": "日期", "order": "顺序", "daily_cap": "每日上限", "text": "内容",
    "assignee": "承办人", "measures": "整改措施", "name": "名称", "queues": "队列",
    "closed": "停止服务", "open_until_empty": "延时服务", "force_logout": "强制下线",
    "id_number": "身份证号码", "phone": "手机号码", "start": "预约时段", "code": "签到码",
    "staff_no": "工号", "pin": "呼叫器密码", "old": "当前密码", "new": "新密码",
    "active": "启用状态", "unlock": "解除锁定", "reset_password": "重置密码",
    "user": "操作人", "action": "操作", "success": "结果", "before": "翻页位置",
    "target_p90": "等候目标", "weeks": "历史周数",
    "per": "统计周期",
}


def label(field: str) -> str:
    """The Chinese name of a request field; an unknown one reads as 该项 rather than leak a key."""
    return FIELD_LABELS.get(field, "该项")


class HallError(Exception):
    """A refusal a person should read: `message` is Chinese, fit for a kiosk or a clerk's pad."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def as_json(self) -> dict[str, dict[str, str]]:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return {"error": body}


def bad_request(message: str, code: str = "bad_request", field: str | None = None) -> HallError:
    return HallError(400, code, message, field)


def invalid(message: str, code: str = "invalid", field: str | None = None) -> HallError:
    return HallError(422, code, message, field)


def not_found(message: str, code: str = "not_found", field: str | None = None) -> HallError:
    return HallError(404, code, message, field)


def conflict(message: str, code: str, field: str | None = None) -> HallError:
    return HallError(409, code, message, field)


def forbidden(message: str = "无权操作该窗口", code: str = "forbidden") -> HallError:
    return HallError(403, code, message)


def unauthenticated(message: str = "请先登录", code: str = "unauthenticated") -> HallError:
    return HallError(401, code, message)
