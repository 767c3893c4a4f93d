"""Accounts and schemes: ``kindmap user add/list/passwd``, ``kindmap scheme add/list``.

A new password comes from ``--password-stdin``, the ``KINDMAP_NEW_PASSWORD`` environment
variable, or a hidden prompt (asked twice); it is never echoed, printed or logged.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer
from rich.table import Table

from kindmap.cli.common import app, fail, open_engine, out
from kindmap.config import get_settings
from kindmap.errors import InvalidQuery, KindmapError

user_app = typer.Typer(help="Accounts (carers, scheme workers, council analysts, moderators, admins).", no_args_is_help=True)
scheme_app = typer.Typer(help="Shared Lives schemes.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(scheme_app, name="scheme")

DemoOpt = Annotated[bool, typer.Option("--demo", help="Use the demo database.")]


def read_new_password(*, from_stdin: bool) -> str:
    """The new password from stdin, the environment, or a hidden prompt."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif os.environ.get("KINDMAP_NEW_PASSWORD"):
        password = os.environ["KINDMAP_NEW_PASSWORD"]
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise InvalidQuery("give the password with --password-stdin or KINDMAP_NEW_PASSWORD (no terminal to prompt on)")
    if not password:
        raise InvalidQuery("the password is empty")
    return password


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="Sign-in email.")],
    role: Annotated[str, typer.Option(help="carer, scheme_worker, council_analyst, moderator or admin.")],
    scheme: Annotated[Optional[str], typer.Option(help="Scheme name (carers and scheme workers).")] = None,
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
    demo_db: DemoOpt = False,
) -> None:
    """Create an account (e.g. the first admin)."""
    from kindmap.db import write_session
    from kindmap.services.accounts.auth import add_user, find_scheme

    try:
        password = read_new_password(from_stdin=password_stdin)
        engine = open_engine(get_settings(), demo=demo_db)
        with write_session(engine) as session:
            scheme_id = find_scheme(session, scheme).id if scheme else None
            user = add_user(session, email=email, password=password, role=role, display_name=name, scheme_id=scheme_id)
            summary = f"added {user.role.value} {user.email} (id {user.id})" + (f" in scheme {scheme!r}" if scheme else "")
    except KindmapError as exc:
        fail(exc)
    out.print(summary, highlight=False, soft_wrap=True)


@user_app.command("passwd")
def user_passwd(
    email: Annotated[str, typer.Argument(help="Sign-in email.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    demo_db: DemoOpt = False,
) -> None:
    """Set a new password and sign the account out everywhere."""
    from sqlmodel import select

    from kindmap.db import write_session
    from kindmap.errors import NotFound
    from kindmap.models.accounts import User, normalise_email
    from kindmap.services.accounts.auth import set_password

    try:
        password = read_new_password(from_stdin=password_stdin)
        engine = open_engine(get_settings(), demo=demo_db)
        with write_session(engine) as session:
            user = session.exec(select(User).where(User.email == normalise_email(email))).first()
            if user is None:
                raise NotFound(f"no account for {normalise_email(email)}")
            set_password(session, user, password)
    except KindmapError as exc:
        fail(exc)
    out.print("password changed; every sign-in of that account was revoked", highlight=False)


@user_app.command("list")
def user_list(demo_db: DemoOpt = False) -> None:
    """Every account (never a password or hash)."""
    from sqlmodel import select

    from kindmap.db import read_session
    from kindmap.models.accounts import Scheme, User

    engine = open_engine(get_settings(), demo=demo_db)
    with read_session(engine) as session:
        schemes = {s.id: s.name for s in session.exec(select(Scheme)).all()}
        users = session.exec(select(User).order_by(User.email)).all()
    table = Table(title=f"{len(users)} account(s)")
    for col in ("id", "email", "name", "role", "scheme", "active"):
        table.add_column(col)
    for u in users:
        table.add_row(str(u.id), u.email, u.display_name, u.role.value, schemes.get(u.scheme_id, ""), "yes" if u.active else "no")
    out.print(table)


@scheme_app.command("add")
def scheme_add(
    name: Annotated[str, typer.Argument(help="e.g. 'Rutland Shared Lives'.")],
    region: Annotated[Optional[str], typer.Option(help="Region slug it serves.")] = None,
    demo_db: DemoOpt = False,
) -> None:
    """Add a Shared Lives scheme."""
    from kindmap.db import write_session
    from kindmap.services.accounts.auth import add_scheme

    try:
        engine = open_engine(get_settings(), demo=demo_db)
        with write_session(engine) as session:
            scheme = add_scheme(session, name=name, region=region)
            summary = f"added scheme {scheme.name!r} (id {scheme.id})"
    except KindmapError as exc:
        fail(exc)
    out.print(summary, highlight=False, soft_wrap=True)


@scheme_app.command("list")
def scheme_list(demo_db: DemoOpt = False) -> None:
    """Every scheme."""
    from sqlmodel import select

    from kindmap.db import read_session
    from kindmap.models.accounts import Scheme

    engine = open_engine(get_settings(), demo=demo_db)
    with read_session(engine) as session:
        schemes = session.exec(select(Scheme).order_by(Scheme.name)).all()
    for s in schemes:
        out.print(f"{s.id}\t{s.name}\t{s.region or ''}", highlight=False, soft_wrap=True)


from kindmap.cli import activities  # noqa: E402,F401  (registers `kindmap import activities`)
