"""Manager lists as CSV a hall opens in Excel: Chinese headers, Chinese values, one fact a cell.

The JSON lists speak codes (`state: "serving"`, `channel: "qr_page"`) because pages and
scripts key on them; the CSV is read by people, so every code becomes its Chinese name from
the tables of hall.model / hall.feedback, times become 年月日 HH:MM in the hall's time zone,
yes/no becomes 是/否, lists are joined with 、 and objects are written as "名称：值；" —
never a JSON literal in a cell. A column that has a `*_name` or `*_text` twin (status /
status_name, date / date_text) is written once, as the name. Columns only machines use (raw
timestamps, actions a page may offer, the timeline of a case — open the case for it) are left
out.

Choices the issue left open, recorded here: dates are written 2026年1月31日 (no zero padding,
the form pages use); a value with no known name is written as it is (a username, a reference
code such as BCU54X4P, a ticket number) since it is data people chose or were told, not a code.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from hall.alarms import KIND_NAMES
from hall.auth import ROLE_NAMES
from hall.cases import (
    CLASSIFICATIONS,
    COMPLAINT_CLASSES,
    COMPLAINT_SOURCES,
    COMPLAINT_STATUS,
    RECT_STATUS,
    TIMELINE_NAMES,
    VIEWS,
)
from hall.config import HallConfig
from hall.datefmt import day_text, time_text
from hall.model import OUTCOME_NAMES, PRIORITIES, STATE_NAMES, STEP_NAMES
from hall.ratings import INDICATORS, LEVELS, RATING_CHANNELS, RATING_MODES
from hall.staffing import ORDER_NAMES

HEADERS = {
    "id": "编号", "seq": "序号", "number": "号码", "name": "名称", "kind": "类型",
    "state": "状态", "status": "状态", "current": "当前号码", "since": "状态开始时间",
    "clerk": "窗口人员", "pause_reason": "暂停原因", "queues": "服务队列", "queue": "队列",
    "service": "办理事项", "window": "窗口", "user": "操作人", "username": "用户名",
    "action": "操作", "target": "对象", "source": "来源", "success": "结果", "detail": "详情",
    "time": "时间", "type": "事件", "role": "角色", "active": "启用", "locked_until": "锁定至",
    "created_at": "创建时间", "url": "连接地址", "kiosk": "取号机", "health": "状态",
    "issued": "取号数", "served": "办结数", "no_show": "过号数", "missed": "过期数",
    "transferred": "转移数", "priority_share": "优先号占比",
    "wait_avg_minutes": "平均等候(分钟)", "wait_p90_minutes": "90%等候(分钟)",
    "handling_avg_minutes": "平均办理(分钟)", "handling_p90_minutes": "90%办理(分钟)",
    "day": "日期", "hour": "时段", "message": "内容", "complaint": "办不成事案件",
    "rectification": "整改案件", "rating": "评价", "rated_at": "评价时间", "level": "评价等级",
    "reasons": "评价原因", "comment": "评价意见", "indicators": "分项评价", "channel": "渠道",
    "mode": "评价方式", "reference": "查询码", "opened_at": "登记时间", "description": "反映内容",
    "contact": "联系方式", "category": "分类", "class": "研判分类", "department": "承办部门",
    "chief": "首席事务代表", "assignee": "承办人", "referral": "转办意见", "view": "群众意见",
    "contact_due": "联系期限", "due": "办结期限", "contacted_at": "联系时间",
    "contacted_same_day": "当天联系", "answered_at": "反馈时间", "archived_at": "归档时间",
    "on_time": "按时", "overdue": "已超期", "next_due": "下一期限", "callback_due": "回访期限",
    "callback_on_time": "按时回访", "called_back_at": "回访时间", "classification": "定性",
    "fix_due": "整改期限", "fix_on_time": "按时整改", "fixed_at": "整改时间",
    "closed_at": "办结时间", "appeal_upheld": "申诉成立", "data": "内容",
    "period": "时段", "held": "挂起数", "priority_tickets": "优先号数",
    "priority_by_reason": "各优先原因", "granted_by_staff": "工作人员认定优先数",
    "outcomes": "办理结果", "outcome_rates": "办理结果占比", "walk_avg_seconds": "平均到窗(秒)",
    "priority": "优先原因", "granted_by": "认定人", "hash": "校验值", "prev": "上一条校验值",
    "staff_no": "工号", "date": "日期", "holiday": "节假日", "opened_by": "开放人", "note": "备注",
    "accepted_day": "受理日期", "due_date": "法定办结期限", "late": "已超期",
    "late_working_days": "超期工作日", "outcome": "办理结果", "assigned": "指派人员",
    "chief_window": "首席事务代表窗口", "chief_window_name": "首席事务代表窗口", "hall": "大厅",
    # runtime staffing (hall/staffing_desk.py): windows and queues as they run today
    "order": "叫号顺序", "temporary": "临时窗口", "closed_today": "今日停止服务",
    "prefix": "号码字头", "width": "号码位数", "daily_cap": "每日上限",
    "config_daily_cap": "配置的每日上限", "max_daily_cap": "每日上限最多", "waiting": "等候人数",
    "open_until_empty": "延时服务", "windows": "办理窗口",
    "raised_at": "发生时间", "cleared_at": "解除时间", "acked_at": "确认时间",
    "acked_by": "确认人", "ack_note": "确认说明", "device": "设备",
    # appointments and 云取号 (hall/booking_figures.py)
    "code": "签到码", "start": "预约时段开始", "end": "预约时段结束", "person_name": "姓名",
    "id_number": "身份证号码", "phone": "手机号码", "walk_in": "迟到按现场号",
    "booked_at": "预约时间", "checked_in_at": "签到时间", "bookings": "预约数",
    "cancelled": "取消数", "check_ins": "签到数", "no_shows": "未到数",
    "late_walk_ins": "迟到转现场号数", "booked_tickets": "预约号数", "walk_in_tickets": "现场号数",
    "phone_tickets": "手机取号数", "no_show_rate": "爽约率", "booked_share": "预约号占比",
    "locked": "已锁定", "must_change": "须修改密码", "last_login_at": "最近登录",
    # 明日排班建议 (hall/plan_api.py)
    "windows_needed": "建议开窗数", "expected_tickets": "预计取号数",
    "p90_wait_minutes": "预计90%等候(分钟)", "target_met": "达到目标",
}
# what people never need in a spreadsheet (raw numbers behind another column, page hints)
HIDDEN = {"since_ts", "actions", "timeline", "overdue_steps", "token", "audio", "key", "details"}

WINDOW_KINDS = {"comprehensive": "综合窗口", "helpdesk": "帮办代办窗口", "consult": "综合咨询窗口",
                "cross_region": "跨区域通办窗口", "complaint": "办不成事反映窗口"}
WINDOW_STATES = {"closed": "未开窗", "idle": "空闲", "called": "已叫号", "serving": "办理中",
                 "paused": "暂停服务"}
DEVICE_KINDS = {"led": "窗口屏", "printer": "取号打印机", "caller": "呼叫器",
                "evaluator": "评价器", "voice": "语音播报"}
HEALTH = {"ok": "正常", "offline": "离线", "error": "故障", "unknown": "未知"}
TICKET_CHANNELS = {"kiosk": "取号机", "phone": "手机取号", "counter": "窗口代取",
                   "appointment": "预约", "caller": "呼叫器"}
ALARM_KINDS = KIND_NAMES
ACTIONS = {**STEP_NAMES, "login": "登录", "logout": "退出", "pause": "暂停服务",
           "resume": "恢复服务", "user.add": "添加用户", "close_day": "日终清号",
           "complaint.receive": "受理办不成事", "rectification.reveal_contact": "查看联系方式",
           "complaint.reveal_contact": "查看联系方式", "alarm.ack": "确认告警",
           **{f"rectification.{k}": f"整改：{v}" for k, v in TIMELINE_NAMES.items()
              if not k.startswith("c.")},
           **{f"complaint.{k[2:]}": f"办不成事：{v}" for k, v in TIMELINE_NAMES.items()
              if k.startswith("c.")}}
ACTIONS.update({"force_logout": "强制下线", "window.assign": "指派窗口", "open_day": "开放办公日",
                "application.complete": "限时办结完成", "priority": "认定优先",
                # runtime staffing (hall/staffing_desk.py)
                "window.add": "开设临时窗口", "window.change": "调整窗口",
                "window.remove": "撤销临时窗口", "queue.change": "调整队列",
                "appointment.book": "预约", "appointment.cancel": "取消预约",
                "appointment.change": "改约", "appointment.check_in": "预约签到",
                "appointment.phone_ticket": "手机取号", "appointment.no_show": "预约未到",
                "appointment.reveal": "查看预约人信息", "ticket.late": "我会晚到"})
# accounts, devices, the citizen's own ratings and reports, and the log itself (issue 10)
ACTIONS.update({"user.role": "变更角色", "user.activate": "启用账户", "user.deactivate": "停用账户",
                "user.unlock": "解除锁定", "user.reset_password": "重置密码",
                "user.change": "修改账户", "password.change": "修改密码",
                "device.add": "登记设备", "device.remove": "注销设备", "device.enrol": "设备登记",
                "ticket.issue": "工作人员代取号", "rating": "群众评价",
                "complaint.open": "群众反映办不成事", "audit.export": "导出审计日志",
                # the city overview (hall/city_api.py), in the city's own audit log
                "city.report": "查看跨中心统计", "city.idle": "查看明进暗不进检查"})
DETAILS = {"bad password": "密码错误", "bad pin": "呼叫器密码错误", "unknown user": "用户不存在",
           "locked": "账户已锁定", "illegal_state": "状态不允许", "forbidden": "无权操作",
           "on_time": "按时", "late": "超期", **ROLE_NAMES, **ALARM_KINDS,
           "unknown_alarm": "告警不存在", "already_acked": "已确认过",
           "slot_full": "时段已约满", "person_barred": "爽约限制期内",
           "person_day_limit": "超过每日次数", "person_week_limit": "超过每周次数",
           "person_month_limit": "超过每月次数", "day_closed": "当天不可预约",
           "slot_closed": "时段已截止",
           "must_change": "须修改密码",
           "password_change_required": "须先修改密码", "weak_password": "密码不符合规则",
           "password_required": "未填写密码", "same_password": "新旧密码相同",
           "bad_password": "当前密码错误", "last_admin": "最后一个系统管理员",
           "unknown_user": "用户不存在", "user_exists": "用户名已存在",
           "staff_no_exists": "工号已被使用", "invalid_role": "角色不对",
           "invalid_user_change": "修改内容不对", "invalid_user": "填写内容不对",
           "invalid_username": "用户名不对", "invalid_staff_no": "工号不对",
           "invalid_pin": "呼叫器密码不对", "invalid_active": "启用状态不对",
           "window_in_use": "窗口已被占用", "needs_manager": "需管理员指派",
           "csv": "导出表格"}
EVENTS = {"ticket.issued": "取号", "ticket.called": "叫号", "ticket.started": "开始办理",
          "ticket.finished": "办结", "ticket.skipped": "过号", "ticket.transferred": "转移",
          "ticket.held": "挂起", "window.paused": "暂停服务", "window.resumed": "恢复服务",
          "window.opened": "开窗", "window.closed": "关窗", "hall.closed": "日终清号",
          "rating.recorded": "评价", "alarm.bad_rating": "差评预警",
          "alarm.complaint": "办不成事", "rectification.updated": "差评整改",
          "complaint.updated": "办不成事", "window.added": "开设临时窗口",
          "window.changed": "调整窗口", "window.removed": "撤销临时窗口",
          "queue.changed": "调整队列", "alarm.raised": "告警",
          "alarm.cleared": "告警解除", "alarm.acked": "告警确认", "booking.changed": "预约变动",
          "ticket.arrived": "到厅签到", "ticket.delayed": "我会晚到",
          "ticket.expired": "未签到过号", "ticket.cancelled": "取消取号"}
YES_NO = {True: "是", False: "否"}
SUCCESS = {True: "成功", False: "失败"}  # 1 and 0 hash as True and False

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_TWINS = ("_name", "_text")
# "kind:value" references the audit log writes, as people say them
_TARGET_NAMES = {"window": "{}号窗口", "rectification": "差评整改 {}", "complaint": "办不成事 {}",
                 "ticket": "号票 {}", "missed": "过期 {} 张", "staff_no": "工号 {}",
                 "previous": "接替 {}", "caller": "呼叫器 {}", "alarm": "告警 {}",
                 "appointment": "预约 {}",
                 "places": "后移 {} 位", "cleared": "清除锁定记录 {} 条",
                 "rating": "评价 {}"}
_TARGET = re.compile(rf"^({'|'.join(_TARGET_NAMES)}):(.*)$")
_PERIOD = re.compile(r"^period:(\d{4}-\d{2}-\d{2})~(\d{4}-\d{2}-\d{2})$")
_EPOCH_COLUMNS = {"created_at", "locked_until"}
_YES_NO_COLUMNS = {"active", "chief", "appeal_upheld"}  # stored as 0/1


class Exporter:
    """Turns the rows of one manager list into CSV text for people."""

    def __init__(self, config: HallConfig | None, tz: tzinfo) -> None:
        """`config` None: rows of no hall (the city's own log), named without a hall's queues,
        services and priority reasons."""
        self.config = config
        self.tz = tz
        hall_queues, reasons, hall_services = (
            (config.queues, config.priority_reasons, config.services) if config else ((), (), ()))
        queues = {q.id: q.name for q in hall_queues}
        priorities = {**PRIORITIES, **{r.id: r.name for r in reasons}}
        outcomes = {k.value: v for k, v in OUTCOME_NAMES.items()}
        services = {s.id: s.name for s in hall_services}
        self.codes: dict[str, dict[Any, str]] = {
            "state": {**{k.value: v for k, v in STATE_NAMES.items()}, **WINDOW_STATES},
            "kind": {**WINDOW_KINDS, **DEVICE_KINDS, **ALARM_KINDS},
            "role": ROLE_NAMES, "level": LEVELS, "mode": RATING_MODES,
            "channel": {**TICKET_CHANNELS, **RATING_CHANNELS},
            "status": {**RECT_STATUS, **COMPLAINT_STATUS},
            "source": {**COMPLAINT_SOURCES, "cli": "命令行"}, "class": COMPLAINT_CLASSES,
            "classification": CLASSIFICATIONS, "view": VIEWS,
            "outcome": outcomes, "outcomes": outcomes, "outcome_rates": outcomes,
            "priority": priorities, "priority_by_reason": priorities, "health": HEALTH,
            "action": ACTIONS, "detail": {**DETAILS, **priorities},
            "type": EVENTS, "queue": queues, "queues": queues, "service": services,
            "success": SUCCESS, "indicators": INDICATORS, "name": {"voice": "语音播报"},
            "order": ORDER_NAMES,
            # the command line acts as "cli" (hall user add, from the server's own shell)
            "user": {"cli": "命令行"},
        }

    def columns(self, rows: Iterable[dict[str, Any]]) -> list[str]:
        out: list[str] = []
        for row in rows:
            for key in row:
                if key in HIDDEN or key in out:
                    continue
                if key.endswith(_TWINS) and key.rsplit("_", 1)[0] in row:
                    continue  # written under its code's column
                out.append(key)
        return out

    def header(self, key: str) -> str:
        return HEADERS.get(key) or HEADERS.get(key.rsplit("_", 1)[0], "其他")

    def cell(self, key: str, row: dict[str, Any]) -> str:
        for twin in _TWINS:  # status_name, date_text: what people read beside the code
            named = row.get(f"{key}{twin}")
            if named not in (None, ""):
                return str(named)
        return self.value(key, row.get(key))

    def value(self, key: str, value: Any) -> str:
        if value is None:
            return ""
        if key == "success":
            return SUCCESS.get(value, str(value))
        if key in _YES_NO_COLUMNS:
            return YES_NO[bool(value)]
        if key == "hour" and isinstance(value, int):
            return f"{value}时"
        if key == "period" and isinstance(value, str):
            if _MONTH.match(value):
                return f"{int(value[:4])}年{int(value[5:])}月"
            if value.isdigit():
                return f"{int(value)}时"
        if isinstance(value, bool):
            return YES_NO[value]
        if isinstance(value, list):
            return "、".join(self.value(key, v) for v in value)
        if isinstance(value, dict):
            return self.mapping(key, value)
        if key in _EPOCH_COLUMNS and isinstance(value, (int, float)):
            return time_text(datetime.fromtimestamp(value, self.tz), self.tz)
        if isinstance(value, float):
            return f"{value:g}"
        if key in ("window", "current_window") and isinstance(value, int):
            return f"{value}号窗口"
        if isinstance(value, str):
            return self.text(key, value)
        return str(value)

    def text(self, key: str, value: str) -> str:
        names = self.codes.get(key, {})
        if value in names:
            return names[value]
        if _ISO_TIME.match(value):
            return time_text(datetime.fromisoformat(value), self.tz)
        if _ISO_DAY.match(value):
            return day_text(value)
        period = _PERIOD.match(value)
        if period:  # the days a city report was asked for
            return f"{day_text(period[1])}至{day_text(period[2])}"
        target = _TARGET.match(value)
        if target:  # window:None is a login refused before any window was named
            return "" if target[2] == "None" else _TARGET_NAMES[target[1]].format(target[2])
        if key == "detail" and value.startswith("bad "):  # "bad <who>": a wrong secret
            return "密码错误"
        if key == "detail" and "," in value:  # several facts: each one named
            return "，".join(self.text(key, part) for part in value.split(","))
        if key == "detail" and "→" in value:  # a change: each side named (manager→admin)
            return "→".join(self.text(key, part) for part in value.split("→"))
        return value

    def mapping(self, key: str, value: dict[str, Any]) -> str:
        """An object in one cell, as people write it: 服务效率：4；服务态度：5."""
        if key == "data":  # an event: say what happened where, not its whole payload
            parts = [value.get("number"), value.get("window_name")]
            return " ".join(str(p) for p in parts if p)
        names = self.codes.get(key, {})
        return "；".join(f"{names.get(k, HEADERS.get(k, k))}：{self.value(k, v)}"
                        for k, v in value.items() if v not in (None, "", [], {}))

    def render(self, rows: list[dict[str, Any]]) -> str:
        columns = self.columns(rows)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([self.header(k) for k in columns])
        for row in rows:
            writer.writerow([spreadsheet_safe(self.cell(k, row)) for k in columns])
        # a BOM so that Excel, which most halls open CSV files with, reads the Chinese right
        return "\ufeff" + out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Pure: a CSV cell a spreadsheet will not run. Excel and WPS treat a cell starting with
    = + - @ (or a tab or CR before one) as a formula, and a complaint's text is typed by anyone
    (`=HYPERLINK(...)` on a manager's PC): such text gets a leading ' (OWASP's advice), which
    the spreadsheet shows as plain text. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
