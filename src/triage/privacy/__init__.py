"""Personal data: finding and masking it before text leaves the conversation it belongs to."""

from triage.privacy.masking import Finding, contains_pii, find_pii, mask, mask_data

__all__ = ["Finding", "contains_pii", "find_pii", "mask", "mask_data"]
