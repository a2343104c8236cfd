"""The optional native RTP relay (decision 0029): ``pyari.rtp._relay``.

Everything else is in pyproject.toml. The extension is optional: without a C compiler
(or Python's headers) the install goes on and pyari relays RTP in Python.
"""

import sys

from setuptools import Extension, setup

ext_modules = []
if sys.platform.startswith("linux"):  # epoll, eventfd
    ext_modules.append(
        Extension(
            "pyari.rtp._relay",
            sources=["src/pyari/rtp/_relay.c"],
            extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            libraries=["pthread"],
            optional=True,
        )
    )

setup(ext_modules=ext_modules)
