"""Kakao 상담톡: the wire protocol, rendering of engine actions, the outbound client and a simulator."""
