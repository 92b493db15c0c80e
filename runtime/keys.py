"""python -m runtime.keys DIR [--client NAME ...]

Make CURVE keys for an encrypted, authenticated event stream: DIR/server.key(_secret) for the runtime
(--curve DIR), and one key pair per client in DIR/clients/ (public keys, which the runtime accepts) with the
secret halves in DIR/client_secrets/ to hand to each subscriber."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import zmq.auth


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m runtime.keys", description=__doc__)
    ap.add_argument("dir")
    ap.add_argument("--client", action="append", default=["client"], help="client name (repeatable)")
    args = ap.parse_args(argv)
    d = Path(args.dir)
    (d / "clients").mkdir(parents=True, exist_ok=True)
    (d / "client_secrets").mkdir(exist_ok=True)
    zmq.auth.create_certificates(str(d), "server")
    for name in dict.fromkeys(args.client):
        pub, sec = zmq.auth.create_certificates(str(d / "client_secrets"), name)
        shutil.copy(pub, d / "clients" / Path(pub).name)
    print(f"server keys in {d}; client public keys in {d / 'clients'}; client secrets in {d / 'client_secrets'}")


if __name__ == "__main__":
    main()
