"""The host side of the host <-> MCU link (protocol/link.md).

Three layers, each handed the one below: ``transport`` moves bytes, ``framing``
turns bytes into frames and back, ``client.Link`` does requests, window, retries and events.
``payloads`` holds every command's layout. Board operations (flash, info, forecast) live above.
"""

from qtdeploy.link.client import Link, Pipeline, Request
from qtdeploy.link.framing import BadFrame, Decoder, Frame, FrameErrorKind, encode
from qtdeploy.link.transport import SerialTransport, Transport

__all__ = [
    "BadFrame",
    "Decoder",
    "Frame",
    "FrameErrorKind",
    "Link",
    "Pipeline",
    "Request",
    "SerialTransport",
    "Transport",
    "encode",
]
