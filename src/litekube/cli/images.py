"""`litekube images pull|import|ls|rm`: the node's image store on the command line.

Each command opens the store under `--data-dir` (default as `litekube server`), with the
mirrors file `<data-dir>/registries.yaml` unless `--registries` names another. Pull shows
one progress bar per layer on a terminal, one line per finished layer otherwise; errors
print `error: <message>` on stderr and exit with status 1.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

from litekube.node.images import ImageError, ImageInfo, ImageService
from litekube.node.images.reference import parse_reference

T = TypeVar("T")


def _store_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--registries",
        type=click.Path(path_type=Path),
        default=None,
        help="Mirrors file (default <data-dir>/registries.yaml).",
    )(function)
    function = click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        default=None,
        help="litekube data directory (default /var/lib/litekube as root).",
    )(function)
    return function


def _service(data_dir: Path | None, registries: Path | None, upstream: bool = True) -> ImageService:
    from litekube.apiserver.server import default_data_dir

    return ImageService(data_dir or default_data_dir(), registries, upstream=upstream)


def _run(service: ImageService, work: Callable[[ImageService], Coroutine[Any, Any, T]]) -> T:
    async def main() -> T:
        async with service:
            return await work(service)

    try:
        return asyncio.run(main())
    except ImageError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


def _size(n: int) -> str:
    # crictl's units: decimal, three significant figures (5.12MB).
    if n < 1000:
        return f"{n}B"
    value = float(n)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            return f"{value:.3g}{unit}"
    raise AssertionError("unreachable")


@click.group("images")
def images() -> None:
    """Pull, import, list and remove container images on this node."""


@images.command("pull")
@click.argument("image")
@click.option("--creds", default=None, metavar="USER:PASSWORD", help="Credentials for the image's registry.")
@click.option("--no-upstream", is_flag=True, help="Use only the mirrors, never the registry itself.")
@_store_options
def pull_command(
    image: str, creds: str | None, no_upstream: bool, data_dir: Path | None, registries: Path | None
) -> None:
    """Pull IMAGE (e.g. nginx:1.21) from its mirrors or registry."""
    secrets = None
    if creds:
        user, _, password = creds.partition(":")
        secrets = {parse_reference(image).registry: (user, password)}
    console = Console(stderr=True)
    started = time.monotonic()

    async def work(service: ImageService) -> ImageInfo:
        if console.is_terminal:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=console,
                transient=True,
            ) as progress:
                tasks: dict[str, TaskID] = {}

                def bar(digest: str, done: int, total: int) -> None:
                    if digest not in tasks:
                        tasks[digest] = progress.add_task(digest[7:19], total=total or None)
                    progress.update(tasks[digest], completed=done)

                return await service.pull(image, secrets, bar)
        finished: set[str] = set()

        def lines(digest: str, done: int, total: int) -> None:
            if done >= total and digest not in finished:
                finished.add(digest)
                click.echo(f"{digest[7:19]}: done {_size(total)}", err=True)

        return await service.pull(image, secrets, lines)

    info = _run(_service(data_dir, registries, upstream=not no_upstream), work)
    elapsed = time.monotonic() - started
    click.echo(f"{info.name}: pulled {info.digest} ({_size(info.size)} in {elapsed:.1f}s)")


@images.command("import")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Image name when the archive has none (or only a tag).")
@_store_options
def import_command(archive: Path, name: str | None, data_dir: Path | None, registries: Path | None) -> None:
    """Import a `docker save` or OCI-archive tarball."""

    async def work(service: ImageService) -> list[ImageInfo]:
        return await service.import_archive(archive, name)

    for info in _run(_service(data_dir, registries), work):
        click.echo(f"imported {info.name} ({info.id})")


@images.command("ls")
@click.option("--digests", is_flag=True, help="Show the repository digest.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@_store_options
def ls_command(digests: bool, quiet: bool, data_dir: Path | None, registries: Path | None) -> None:
    """List the images on this node (as `crictl images`)."""
    listed = _service(data_dir, registries).list()
    if quiet:
        for image_id in dict.fromkeys(info.id for info in listed):
            click.echo(image_id)
        return
    rows = [["IMAGE", "TAG", *(["DIGEST"] if digests else []), "IMAGE ID", "SIZE"]]
    for info in listed:
        parsed = parse_reference(info.name)
        digest = [info.digest.split("@")[1][7:20]] if digests else []
        rows.append([parsed.name, parsed.tag or "<none>", *digest, info.id[7:20], _size(info.size)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@images.command("rm")
@click.argument("image", nargs=-1, required=True)
@_store_options
def rm_command(image: tuple[str, ...], data_dir: Path | None, registries: Path | None) -> None:
    """Remove IMAGE(s) and the content no other image uses."""
    service = _service(data_dir, registries)
    failed = False
    for ref in image:
        try:
            removed = service.remove(ref)
        except ImageError as error:
            click.echo(f"error: {error}", err=True)
            failed = True
            continue
        if removed:
            click.echo(f"Deleted: {parse_reference(ref)}")
        else:
            click.echo(f'error: no such image "{ref}"', err=True)
            failed = True
    if failed:
        sys.exit(1)
