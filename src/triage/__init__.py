"""triage: a chatbot-first triage engine for Kakao 상담톡."""

__version__ = "0.1.0"
