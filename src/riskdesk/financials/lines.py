"""The line items riskdesk reads from financial statements, with the labels Chinese statements use for them.

Values are stored in the currency's unit (元 for CNY); statements given in 万元 or 千元 are converted on entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LineItem:
    key: str
    statement: str  # balance_sheet | income_statement | cash_flow
    zh: str
    en: str
    can_be_negative: bool = False
    aliases: tuple[str, ...] = ()


LINE_ITEMS: tuple[LineItem, ...] = (
    LineItem("cash", "balance_sheet", "货币资金", "Cash and equivalents", aliases=("现金及现金等价物",)),
    LineItem("accounts_receivable", "balance_sheet", "应收账款", "Accounts receivable"),
    LineItem("inventory", "balance_sheet", "存货", "Inventory"),
    LineItem("current_assets", "balance_sheet", "流动资产合计", "Total current assets"),
    LineItem("fixed_assets", "balance_sheet", "固定资产", "Fixed assets"),
    LineItem("intangible_assets", "balance_sheet", "无形资产", "Intangible assets", aliases=("商誉及无形资产",)),
    LineItem("total_assets", "balance_sheet", "资产总计", "Total assets", aliases=("资产合计",)),
    LineItem("accounts_payable", "balance_sheet", "应付账款", "Accounts payable"),
    LineItem("short_term_debt", "balance_sheet", "短期借款", "Short-term borrowings"),
    LineItem("current_liabilities", "balance_sheet", "流动负债合计", "Total current liabilities"),
    LineItem("long_term_debt", "balance_sheet", "长期借款", "Long-term borrowings"),
    LineItem("total_liabilities", "balance_sheet", "负债合计", "Total liabilities"),
    LineItem("retained_earnings", "balance_sheet", "未分配利润", "Retained earnings", can_be_negative=True),
    LineItem(
        "equity",
        "balance_sheet",
        "所有者权益合计",
        "Total equity",
        can_be_negative=True,
        aliases=("股东权益合计", "所有者权益（或股东权益）合计"),
    ),
    LineItem("revenue", "income_statement", "营业收入", "Revenue", aliases=("营业总收入",)),
    LineItem("cost_of_sales", "income_statement", "营业成本", "Cost of sales"),
    LineItem("operating_profit", "income_statement", "营业利润", "Operating profit (EBIT)", can_be_negative=True),
    LineItem("interest_expense", "income_statement", "利息费用", "Interest expense"),
    LineItem("depreciation", "income_statement", "折旧与摊销", "Depreciation and amortisation"),
    LineItem("net_income", "income_statement", "净利润", "Net income", can_be_negative=True),
    LineItem(
        "operating_cash_flow", "cash_flow", "经营活动产生的现金流量净额", "Operating cash flow", can_be_negative=True
    ),
    LineItem(
        "capital_expenditure", "cash_flow", "购建固定资产、无形资产和其他长期资产支付的现金", "Capital expenditure"
    ),
    LineItem("debt_repayment", "cash_flow", "偿还债务支付的现金", "Debt principal repaid"),
)
BY_KEY = {item.key: item for item in LINE_ITEMS}
REQUIRED = ("total_assets", "total_liabilities", "equity", "revenue", "net_income")
UNITS = {"元": 1, "千元": 1000, "万元": 10000, "yuan": 1, "thousand": 1000, "ten_thousand": 10000}


def resolve(label: str) -> str | None:
    """Our key for a line-item label (the key itself, the Chinese or English label, or an alias)."""
    text = label.strip()
    lowered = text.lower()
    for item in LINE_ITEMS:
        if lowered in (item.key, item.en.lower()) or text in (item.zh, *item.aliases):
            return item.key
    return None
