"""riskdesk: the desk of a company's risk-control unit."""

__version__ = "0.1.0"
