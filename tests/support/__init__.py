"""Test infrastructure: real storage servers and sinks on 127.0.0.1, and rclone helpers."""

from .rclone import RcloneError, rclone_bin, rclone_env, run_rclone
from .servers import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    AzuriteServer,
    FluentdEvent,
    FluentdSink,
    GcsEmulator,
    HttpSink,
    MotoS3Server,
    RcloneS3Server,
    ReceivedRequest,
    ServerStartError,
    unique_bucket,
)

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "AzuriteServer",
    "FluentdEvent",
    "FluentdSink",
    "GcsEmulator",
    "HttpSink",
    "MotoS3Server",
    "RcloneError",
    "RcloneS3Server",
    "ReceivedRequest",
    "ServerStartError",
    "rclone_bin",
    "rclone_env",
    "run_rclone",
    "unique_bucket",
]
