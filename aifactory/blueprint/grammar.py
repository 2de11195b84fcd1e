"""The grammars of values that leave the model for a shell, an fstab, a unit file, a Slurm or NCCL
configuration, an sbatch script or a Kubernetes object.

A value is checked against the grammar of the place it lands in, not merely quoted there: a quoted host name
with a space still breaks an fstab line, and an unquoted one with `$(...)` runs code. Each type refuses with
the raw value quoted and the form it expects (docs/blueprint.md).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = rf"{_LABEL}(?:\.{_LABEL})*"  # RFC 1123 host name (labels of letters, digits, inner hyphens)
ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"  # POSIX shell variable name
NCCL_KEY = r"NCCL_[A-Z0-9_]+"
# NCCL values (`mlx5_0:1,mlx5_1:1`, `^docker,lo`, `=eth0`, `INIT,NET`): no whitespace, quotes or shell syntax.
NCCL_VALUE = r"[A-Za-z0-9_.,:/=+@%^~-]{0,256}"
TEXT_MAX = 200


def _refuse(kind: str, raw: str, expected: str) -> PydanticCustomError:
    return PydanticCustomError("grammar", "{kind} {raw} is not valid: {expected}",
                               {"kind": kind, "raw": repr(raw), "expected": expected})


def _full(pattern: str, kind: str, expected: str, max_len: int = 253, empty: bool = False) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if empty and value == "":
            return value
        if len(value) > max_len or not compiled.fullmatch(value):
            raise _refuse(kind, value, expected)
        return value

    return AfterValidator(check)


def is_hostname(value: str) -> bool:
    """An RFC 1123 host name (its last label not all digits, so '1.2.3' is no name) or an IPv4 address."""
    if _is_ipv4(value):
        return True
    named = len(value) <= 253 and re.fullmatch(HOSTNAME, value) is not None
    return named and not value.rsplit(".", 1)[-1].isdigit()


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _host(value: str) -> str:
    """A host name (RFC 1123), an IPv4 address, or an IPv6 address in brackets (`[fd00::1]`)."""
    if value.startswith("[") and value.endswith("]"):
        try:
            ipaddress.IPv6Address(value[1:-1])
            return value
        except ValueError:
            pass
    elif is_hostname(value):
        return value
    raise _refuse("host", value, "a host name (letters, digits, hyphens and dots), an IPv4 address or "
                  "an IPv6 address in brackets, e.g. 'nfs01.site.example' or '10.0.0.5'")


def _mount_path(value: str) -> str:
    parts = value.split("/")[1:]
    if (len(value) > 255 or not re.fullmatch(r"/[A-Za-z0-9._/-]*", value)
            or any(p in (".", "..") for p in parts) or "//" in value):
        raise _refuse("path", value, "an absolute path of letters, digits, '.', '_', '-' and '/', with no "
                      "'..' or '.' part and no empty part, at most 255 characters, e.g. '/data'")
    return value


def _relative_file(value: str) -> str:
    parts = value.split("/")
    if (len(value) > 255 or not re.fullmatch(r"[A-Za-z0-9._/-]+", value)
            or any(p in ("", ".", "..") for p in parts)):
        raise _refuse("file", value, "a path relative to the blueprint's folder, of letters, digits, '.', '_', "
                      "'-' and '/', with no '..' or '.' part and no empty part, e.g. 'signals/prices.csv'")
    return value


def _text(value: str) -> str:
    """Free text shown in reports: printable characters on one line."""
    if len(value) > TEXT_MAX or any(not ch.isprintable() for ch in value):
        raise _refuse("text", value[:40], f"printable characters on one line, at most {TEXT_MAX}")
    return value


def _description(value: str) -> str:
    """Longer free text: printable characters, newlines and tabs."""
    if any(not (ch.isprintable() or ch in "\n\t") for ch in value):
        raise _refuse("text", value[:40], "printable characters (newlines and tabs allowed); no control "
                      "characters")
    return value


_HOST_PORT = rf"(?:{HOSTNAME}|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?"
_URL_PATH = r"(?:/[A-Za-z0-9._~%+/-]*)?"

Host = Annotated[str, AfterValidator(_host), WithJsonSchema({"type": "string", "format": "hostname"})]
MountPath = Annotated[str, AfterValidator(_mount_path),
                      WithJsonSchema({"type": "string", "pattern": r"^/[A-Za-z0-9._/-]*$", "maxLength": 255})]
NcclKey = Annotated[str, _full(NCCL_KEY, "NCCL variable", "an environment variable name starting with 'NCCL_' "
                               "(capitals, digits, '_'), e.g. 'NCCL_IB_HCA'", 128)]
NcclValue = Annotated[str, _full(NCCL_VALUE, "NCCL value", "letters, digits and . , : / = + @ % ^ ~ _ - only "
                                 "(no spaces, quotes or shell syntax), at most 256 characters", 256)]
_URL = re.compile(rf"(?:https?|oci)://{_HOST_PORT}{_URL_PATH}")
_URL_EXPECTED = ("http(s):// or oci:// then a host, an optional :port and a path of letters, digits and "
                 ". _ ~ % + / - only, e.g. 'https://mirror.site.example/apt'")


def _url(value: str) -> str:
    if len(value) > 2048 or not _URL.fullmatch(value):
        raise _refuse("URL", value, _URL_EXPECTED)
    return value


Url = Annotated[str, AfterValidator(_url),
                WithJsonSchema({"type": "string", "pattern": r"^(https?|oci)://[^\s]+$"})]
OptionalUrl = Annotated[str, AfterValidator(lambda v: v if v == "" else _url(v))]
Registry = Annotated[str, _full(rf"{_HOST_PORT}(?:/[a-z0-9._/-]+)?", "registry",
                                "a registry host with an optional :port and path, e.g. 'nvcr.io' or "
                                "'registry.site.example:5000/mirror'", 512)]
LustreNid = Annotated[str, _full(r"(?:[A-Za-z0-9._-]+@[a-z][a-z0-9]*)(?::[A-Za-z0-9._-]+@[a-z][a-z0-9]*)*",
                                 "Lustre NID", "NID[:NID...] where a NID is ADDRESS@NETWORK, e.g. '10.0.0.5@o2ib' "
                                 "or 'mgs1@tcp:mgs2@tcp'", 512, empty=True)]
# A Linux network interface name: at most 15 characters (IFNAMSIZ less its NUL), no '/' or blanks.
InterfaceName = Annotated[str, _full(r"[A-Za-z0-9][A-Za-z0-9._-]*", "interface name",
                                     "a Linux interface name of letters, digits, '.', '_' and '-' (at most 15), "
                                     "e.g. 'ibp24s0' or 'enp41s0f0np0'", 15)]
ObjectName = Annotated[str, _full(r"[A-Za-z0-9][A-Za-z0-9._-]*", "name",
                                  "letters, digits, '.', '_' and '-', starting with a letter or digit", 115,
                                  empty=True)]
KeyRef = Annotated[str, _full(r"[A-Za-z0-9._/:@-]*", "key reference",
                              "a key name of letters, digits and . _ / : @ - (never the key itself)", 256)]
MigProfile = Annotated[str, _full(r"[a-z0-9.+-]*", "MIG profile", "a MIG profile such as '1g.10gb' or "
                                  "'all-1g.10gb'", 64)]
# "" where a field may be left empty: one validator, so a bad value gets one message (a union would give two).
OptionalHost = Annotated[str, AfterValidator(lambda v: v if v == "" else _host(v))]
Text = Annotated[str, AfterValidator(_text)]
RelativeFile = Annotated[str, AfterValidator(_relative_file), WithJsonSchema(
    {"type": "string", "pattern": r"^(?!.*(^|/)\.{1,2}(/|$))(?!.*//)[A-Za-z0-9._-][A-Za-z0-9._/-]{0,254}$"})]
Description = Annotated[str, AfterValidator(_description)]

