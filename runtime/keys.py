"""python -m runtime.keys DIR [--client NAME ...]

Make CURVE keys for an encrypted, authenticated event stream: DIR/server.key(_secret) for the runtime
(--curve DIR), and one key pair per --client NAME: its public key in DIR/clients/ (the keys the runtime
accepts) and its secret key in DIR/client_secrets/NAME.key_secret, to hand to that subscriber
(python -m runtime.listen --server-key DIR/server.key --client-key NAME.key_secret).

Secret keys are created readable by their owner only (0600, in an 0700 folder). Run it again to add clients:
the server key and the clients already made are kept (delete a client's files to revoke it, then restart the
runtime). A client that made its own key pair needs only its public key file copied into DIR/clients/."""

from __future__ import annotations

import argparse
import datetime
import os
import re
import stat
import sys
from pathlib import Path

import zmq

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SECRET_MODE = 0o600
PUBLIC_MODE = 0o644


def _write_new(path: Path, text: str, mode: int) -> None:
    """Create ``path`` with ``mode`` from the start (never a moment wider), refusing to follow a link or to
    reuse a file that is already there."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, mode)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _certificate(public: bytes, secret: bytes | None) -> str:
    """The ZeroMQ certificate format (what zmq.auth.load_certificate and the runtime's authenticator read)."""
    kind = "**Secret** Certificate\n#   DO NOT PROVIDE THIS FILE TO OTHER USERS" if secret else "Public Certificate"
    text = (f"#   ****  Generated on {datetime.datetime.now()} by python -m runtime.keys  ****\n"
            f"#   ZeroMQ CURVE {kind}\n\nmetadata\ncurve\n    public-key = \"{public.decode()}\"\n")
    return text + (f"    secret-key = \"{secret.decode()}\"\n" if secret else "")


def make_pair(public_file: Path, secret_file: Path) -> bool:
    """A new key pair in ``public_file`` (0644) and ``secret_file`` (0600); False (nothing written) when both
    exist already. Half a pair is an error: the other half cannot be recovered."""
    have = [f for f in (public_file, secret_file) if os.path.lexists(f)]
    if len(have) == 2:
        return False
    if have:
        raise FileExistsError(f"{have[0]} exists without its other half: remove it to make a new pair")
    public, secret = zmq.curve_keypair()
    _write_new(secret_file, _certificate(public, secret), SECRET_MODE)
    _write_new(public_file, _certificate(public, None), PUBLIC_MODE)
    return True


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        print(f"warning: {path} is readable by others (mode {stat.S_IMODE(path.stat().st_mode):o}); "
              f"secret keys belong in an owner-only folder: chmod 700 {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m runtime.keys", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="key folder (made if missing); the runtime's --curve DIR")
    ap.add_argument("--client", action="append", default=[], metavar="NAME",
                    help="make and authorise a key pair for this client (repeatable; letters, digits, '.', '_', '-')")
    args = ap.parse_args(argv)
    names = list(dict.fromkeys(args.client))
    for name in names:
        if not NAME.fullmatch(name):
            ap.error(f"client name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
                     "or digit (it names the key files)")
    d = Path(args.dir)
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        (d / "clients").mkdir(mode=0o755, exist_ok=True)  # whoever may write here may authorise a key
        _private_dir(d / "client_secrets")
        made = make_pair(d / "server.key", d / "server.key_secret")
        print(f"{'made' if made else 'kept the existing'} server key pair: {d / 'server.key_secret'} (runtime: --curve {d})")
        for name in names:
            secret = d / "client_secrets" / f"{name}.key_secret"
            made = make_pair(d / "clients" / f"{name}.key", secret)
            print(f"{'made' if made else 'kept the existing'} client {name!r}: give it {secret} and {d / 'server.key'}")
    except OSError as e:
        print(f"python -m runtime.keys: {e}", file=sys.stderr)
        raise SystemExit(1) from e
    if not names and not any((d / "clients").glob("*.key")):
        print(f"no client is authorised yet: add one with --client NAME, or copy a client's public key into {d / 'clients'}")


if __name__ == "__main__":
    main()
