"""pyari's media engine: frames and codecs, sound files and the sounds index,
media URIs, tones, the media clock and mixer, playback, recording, DTMF and
talk detection.

Everything here is independent of ARI and of channel technologies; see
``docs``/the module docstrings for how the ARI layer plugs in:
:class:`~pyari.media.ticker.MediaClock` ticks a
:class:`~pyari.media.mixer.MediaEngine`; a channel gets a
:class:`~pyari.media.mixer.Stream`; playbacks are
:class:`~pyari.media.player.Player` objects opened through a
:class:`~pyari.media.uris.MediaResolver`; recordings are
:class:`~pyari.media.recorder.Recorder` taps.
"""
