"""pyari.rtp: RTP (RFC 3550), RTCP reports, RFC 4733 telephone-events and an adaptive
jitter buffer, as sans-IO code driven by the media clock."""
