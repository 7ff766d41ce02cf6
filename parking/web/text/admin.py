"""Labels of the admin pages: ``key: (中文, English)``."""

TEXT: dict[str, tuple[str, str]] = {
    "admin.line": ("第 {line} 行", "Line {line}"),
    # What can be wrong with an imported file: parking.residents.whitelist_csv.FAULTS.
    "admin.fault.not-utf8": (
        "文件不是 UTF-8 文本，请另存为“CSV UTF-8”格式。",
        'The file is not UTF-8 text; save it as "CSV UTF-8".',
    ),
    "admin.fault.header-unreadable": (
        "表头无法读取：{error}。",
        "The header row cannot be read: {error}.",
    ),
    "admin.fault.empty-file": (
        "文件是空的；第一行应为表头 compound,unit,phone。",
        "The file is empty; the first line must be the header compound,unit,phone.",
    ),
    "admin.fault.unknown-columns": (
        "未知的列 {columns}；可用的列为 {allowed}（lat、lon 可选）。",
        "Unknown column(s) {columns}; the columns are {allowed} (lat and lon optional).",
    ),
    "admin.fault.missing-columns": (
        "表头缺少列 {columns}。",
        "The header lacks the column(s) {columns}.",
    ),
    "admin.fault.repeated-columns": (
        "列 {columns} 出现了不止一次。",
        "The column(s) {columns} appear more than once.",
    ),
    "admin.fault.lat-lon-columns": (
        "lat 和 lon 两列要么都有，要么都没有。",
        "Give both lat and lon columns, or neither.",
    ),
    "admin.fault.line-unreadable": (
        "这一行无法按 CSV 读取：{error}。",
        "This line cannot be read as CSV: {error}.",
    ),
    "admin.fault.same-entry": ("与第 {line} 行重复。", "The same entry as line {line}."),
    "admin.fault.field-count": (
        "应有 {expected} 个字段（{columns}），实际 {found} 个。",
        "Expected {expected} fields ({columns}), found {found}.",
    ),
    "admin.fault.empty-field": ("{name}为空。", "The {name} is empty."),
    "admin.fault.too-long": (
        "{name}超过 {limit} 个字符。",
        "The {name} is longer than {limit} characters.",
    ),
    "admin.fault.bad-phone": (
        "手机号应为 6 到 15 位数字（可含空格、短横线和 +86）。",
        "A phone number has 6 to 15 digits (spaces, dashes and +86 are allowed).",
    ),
    "admin.fault.not-a-number": (
        "{name}「{value}」不是数字。",
        "The {name} '{value}' is not a number.",
    ),
    "admin.fault.out-of-range": (
        "{name}应在 -{limit} 到 {limit} 之间。",
        "The {name} must be between -{limit} and {limit}.",
    ),
    "admin.fault.lat-lon-both": (
        "lat 和 lon 要么都填，要么都不填。",
        "Give both lat and lon, or neither.",
    ),
    "admin.fault.unknown-compound": (
        "小区「{compound}」不存在：请先创建，或在这一行填写它的 lat 和 lon。",
        "Unknown compound '{compound}': create it first, or give its lat and lon on this line.",
    ),
    "admin.fault.compound-moved": (
        "小区「{compound}」在第 {first_line} 行给出了另一个位置。",
        "Compound '{compound}' is given another location on line {first_line}.",
    ),
    "admin.fault.replace-empty": (
        "替换导入至少需要一条记录；此文件没有。",
        "A replace import needs at least one entry; this file has none.",
    ),
    "admin.fault.holiday-day": (
        "日期应写成 YYYY-MM-DD，例如 2026-10-01。",
        "The day must be written YYYY-MM-DD, for example 2026-10-01.",
    ),
    "admin.fault.holiday-kind": (
        "类型应为 holiday（休息日）或 workday（调休上班日）。",
        "The kind must be holiday (a rest day) or workday (a weekend day worked).",
    ),
    "admin.fault.holiday-name": ("名称不能超过 80 个字符。", "The name is at most 80 characters."),
    "admin.fault.column.compound": ("小区", "compound"),
    "admin.fault.column.unit": ("单元", "unit"),
    "admin.fault.column.phone": ("手机号", "phone"),
    "admin.fault.column.lat": ("纬度 lat", "lat"),
    "admin.fault.column.lon": ("经度 lon", "lon"),
    "admin.weekday.1": ("周一", "Mon"),
    "admin.weekday.2": ("周二", "Tue"),
    "admin.weekday.3": ("周三", "Wed"),
    "admin.weekday.4": ("周四", "Thu"),
    "admin.weekday.5": ("周五", "Fri"),
    "admin.weekday.6": ("周六", "Sat"),
    "admin.weekday.7": ("周日", "Sun"),
    # accounts
    "admin.accounts.title": ("账号管理", "Accounts"),
    "admin.accounts.filter": ("按角色筛选", "Filter by role"),
    "admin.accounts.all": ("全部", "All"),
    "admin.accounts.list": ("账号列表", "Accounts"),
    "admin.accounts.name": ("称呼", "Name"),
    "admin.accounts.role": ("角色", "Role"),
    "admin.accounts.phone": ("手机号", "Phone"),
    "admin.accounts.status": ("状态", "Status"),
    "admin.accounts.created": ("创建时间", "Created"),
    "admin.accounts.active": ("正常", "Active"),
    "admin.accounts.inactive": ("已停用", "Inactive"),
    "admin.accounts.none": ("没有这个角色的账号。", "No accounts with this role."),
    "admin.accounts.new": ("新建账号", "New account"),
    "admin.accounts.new_hint": (
        "为楼宇管理员或社区管理员开设账号；请把初始密码当面或电话告知本人。",
        "Open an account for a building manager or an admin; give them the initial "
        "password in person or by phone.",
    ),
    "admin.accounts.password": ("初始密码", "Initial password"),
    "admin.accounts.create": ("创建账号", "Create account"),
    "admin.accounts.created_done": ("账号已创建。", "The account was created."),
    "admin.accounts.actions": ("操作", "Actions"),
    "admin.accounts.deactivate": ("停用", "Deactivate"),
    "admin.accounts.deactivate_confirm": (
        "停用 {email}？该账号将立即退出，且不能再登录。",
        "Deactivate {email}? The account is signed out at once and cannot sign in.",
    ),
    "admin.accounts.activate": ("恢复", "Reactivate"),
    "admin.accounts.you": ("当前账号", "You"),
    "admin.accounts.new_password": ("设新密码", "Set a new password"),
    "admin.accounts.new_password_save": ("保存新密码", "Save the new password"),
    "admin.accounts.deactivated_done": (
        "账号已停用，已登录的会话均已失效。",
        "The account was deactivated; its sessions have ended.",
    ),
    "admin.accounts.activated_done": ("账号已恢复。", "The account was reactivated."),
    "admin.accounts.password_done": (
        "新密码已设置，原有的登录均已失效。",
        "The new password is set; earlier sign-ins have ended.",
    ),
    # compounds and the whitelist
    "admin.whitelist.title": ("小区与住户白名单", "Compounds and resident whitelist"),
    "admin.compounds.title": ("小区", "Compounds"),
    "admin.compounds.name": ("小区名称", "Compound name"),
    "admin.compounds.entries": ("白名单条目", "Whitelist entries"),
    "admin.compounds.verified": ("已认证", "Verified"),
    "admin.compounds.location": ("位置（纬度, 经度）", "Location (lat, lon)"),
    "admin.compounds.none": ("还没有小区。", "No compounds yet."),
    "admin.compounds.new": ("新增小区", "New compound"),
    "admin.compounds.lat": ("纬度", "Latitude"),
    "admin.compounds.lon": ("经度", "Longitude"),
    "admin.compounds.create": ("新增小区", "Add compound"),
    "admin.compounds.created_done": ("小区已新增。", "The compound was added."),
    "admin.compounds.edit": ("修改", "Edit"),
    "admin.compounds.saved": ("小区已更新。", "The compound was updated."),
    "admin.whitelist.entries": ("白名单条目", "Whitelist entries"),
    "admin.whitelist.compound": ("小区", "Compound"),
    "admin.whitelist.all_compounds": ("全部小区", "All compounds"),
    "admin.whitelist.show": ("显示", "Show"),
    "admin.whitelist.unit": ("楼栋房号", "Unit"),
    "admin.whitelist.verified": ("认证", "Verification"),
    "admin.whitelist.is_verified": ("已认证", "Verified"),
    "admin.whitelist.not_verified": ("未认证", "Not verified"),
    "admin.whitelist.imported": ("导入时间", "Imported"),
    "admin.whitelist.none": ("白名单中还没有条目。", "The whitelist has no entries yet."),
    "admin.import.title": ("导入白名单文件", "Import a whitelist file"),
    "admin.import.hint": (
        "CSV 文件，UTF-8 编码（Excel 另存为“CSV UTF-8”），第一行为表头。"
        "文件中任何一行有误，整个文件都不会导入，并逐行列出问题。",
        "A CSV file in UTF-8 (Excel: save as “CSV UTF-8”) with a header row. If any line "
        "is wrong, nothing is imported and every wrong line is listed.",
    ),
    "admin.import.optional": ("，新小区可加", "; for a new compound add"),
    "admin.import.file": ("CSV 文件", "CSV file"),
    "admin.import.merge": ("导入（追加新条目）", "Import (add new entries)"),
    "admin.import.replace_title": ("用文件替换整个白名单", "Replace the whole whitelist"),
    "admin.import.replace_hint": (
        "文件将成为完整的白名单：不在文件中的条目会被删除，用这些条目认证的住户将失去认证。",
        "The file becomes the whole list: entries not in it are removed, and residents "
        "verified with them are no longer verified.",
    ),
    "admin.import.replace": ("替换整个白名单", "Replace the whole list"),
    "admin.import.replace_confirm": (
        "确定用这个文件替换整个白名单吗？不在文件中的住户将失去认证。",
        "Replace the whole whitelist with this file? Residents not in it lose their verification.",
    ),
    "admin.import.done": ("白名单已导入。", "The whitelist was imported."),
    "admin.import.report": ("导入结果", "Import report"),
    "admin.import.entries": ("文件条目", "Entries in the file"),
    "admin.import.added": ("新增", "Added"),
    "admin.import.unchanged": ("已存在（未变）", "Already there"),
    "admin.import.compounds_created": ("新建小区", "Compounds created"),
    "admin.import.removed": ("删除", "Removed"),
    "admin.import.unverified": ("失去认证", "No longer verified"),
    "admin.import.refused": (
        "请修正上面列出的行后重新导入整个文件。",
        "Fix the lines listed above, then import the whole file again.",
    ),
    # the holiday calendar
    "admin.holidays.title": ("节假日日历", "Holiday calendar"),
    "admin.holidays.intro": (
        "每年的法定节假日和调休上班日。“工作日”“休息日”等开放规则按这里的日历计算；"
        "没有录入的年份，这些规则无法使用。",
        "Each year's public holidays and adjusted working weekends. Working-day and "
        "rest-day sharing rules follow this calendar; a year not entered cannot use them.",
    ),
    "admin.holidays.years": ("已录入的年份", "Years entered"),
    "admin.holidays.year": ("年份", "Year"),
    "admin.holidays.source": ("来源", "Source"),
    "admin.holidays.source.package": ("chinesecalendar 数据包", "chinesecalendar package"),
    "admin.holidays.source.admin": ("管理员录入", "Entered by an admin"),
    "admin.holidays.holidays": ("节假日", "Holidays"),
    "admin.holidays.workdays": ("调休上班", "Make-up workdays"),
    "admin.holidays.updated": ("更新于", "Updated"),
    "admin.holidays.none": ("还没有录入任何年份。", "No year is entered yet."),
    "admin.holidays.open": ("查看或录入某一年", "Open or enter a year"),
    "admin.holidays.open_button": ("打开", "Open"),
    "admin.holidays.missing": (
        "数据包中有、但尚未录入的年份：",
        "Years the package knows that are not entered:",
    ),
    "admin.holidays.year_title": ("{year} 年节假日", "Holidays of {year}"),
    "admin.holidays.covered": ("已录入", "Entered"),
    "admin.holidays.not_covered": ("未录入", "Not entered"),
    "admin.holidays.not_covered_hint": (
        "这一年的工作日/休息日规则目前无法使用。",
        "Working-day and rest-day rules cannot be used in this year yet.",
    ),
    "admin.holidays.days": ("例外日期", "Exception days"),
    "admin.holidays.day": ("日期", "Date"),
    "admin.holidays.weekday": ("星期", "Weekday"),
    "admin.holidays.kind": ("类型", "Kind"),
    "admin.holidays.kind.holiday": ("放假", "Holiday"),
    "admin.holidays.kind.workday": ("调休上班", "Make-up workday"),
    "admin.holidays.name": ("名称", "Name"),
    "admin.holidays.no_days": ("没有例外日期。", "No exception days."),
    "admin.holidays.enter": ("录入或更正全年", "Enter or correct the whole year"),
    "admin.holidays.enter_hint": (
        "每行一天：日期 类型 名称，类型为 holiday（放假）或 workday（周末调休上班）。"
        "保存后，这些行即为该年的全部例外日期。",
        "One day a line: date kind name, where kind is holiday or workday (a weekend day "
        "worked). Saved, these lines are the year's whole list of exceptions.",
    ),
    "admin.holidays.fill": (
        "用 chinesecalendar 数据包填入",
        "Fill from the chinesecalendar package",
    ),
    "admin.holidays.filled": (
        "已按数据包填入，检查后保存。",
        "Filled from the package; check it, then save.",
    ),
    "admin.holidays.lines": ("例外日期（每行一天）", "Exception days (one a line)"),
    "admin.holidays.cancel_reservations": (
        "同时免费取消受影响的预约",
        "Also cancel, without fee, the reservations the correction leaves outside the windows",
    ),
    "admin.holidays.save": ("保存这一年", "Save the year"),
    "admin.holidays.saved": ("这一年的日历已保存。", "The year's calendar was saved."),
    "admin.holidays.remove": ("删除这一年", "Remove the year"),
    "admin.holidays.remove_hint": (
        "删除后，这一年的工作日/休息日规则将无法使用，直到重新录入。",
        "Removed, the year's working-day and rest-day rules cannot be used until it is "
        "entered again.",
    ),
    "admin.holidays.remove_confirm": (
        "确定删除 {year} 年的节假日日历吗？",
        "Remove the {year} holiday calendar?",
    ),
    "admin.holidays.removed": ("这一年的日历已删除。", "The year's calendar was removed."),
    # problems the admin pages can show
    "error.whitelist-invalid": (
        "文件中有无效的行，未导入任何内容：",
        "Some lines of the file are not valid; nothing was imported:",
    ),
    "error.own-account": (
        "管理员不能停用自己的账号。",
        "An admin cannot deactivate their own account.",
    ),
    "error.compound-name-taken": ("已有同名小区。", "A compound with this name already exists."),
    "error.day-outside-year": ("有日期不在这一年内。", "A date is not in this year."),
    "error.duplicate-day": ("同一天出现了两次。", "A date is listed twice."),
    "error.workday-not-weekend": (
        "调休上班日必须是周六或周日。",
        "A make-up workday must be a Saturday or Sunday.",
    ),
    "error.calendar-in-use": (
        "已发布的开放时段或有效预约依赖这一年的日历，不能删除；请改为录入更正后的日历。",
        "Published nights or active bookings depend on this year; enter the corrected "
        "calendar instead of removing it.",
    ),
}
