"""The robustness report: metrics, deltas with bootstrap CIs, Holm-corrected tests, and the
terminal / Markdown / HTML / CSV / JSON outputs. Entry point: `build_report`."""

from xexp.runtime.report.build import REPORT_FILES, build_report
from xexp.runtime.report.model import ReportCell, ReportSettings

__all__ = ["REPORT_FILES", "ReportCell", "ReportSettings", "build_report"]
