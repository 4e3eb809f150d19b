"""``papersearch shards``: a build's shards on Ray Serve (docs/hosts.md): deploy the current
build's, shard by shard, and see which builds' shards run."""

from __future__ import annotations

import json

import click

from search.base.settings import Settings
from search.cli.options import JSON_OPTION, settings_options
from search.shards import cluster
from search.store import Store


@click.group("shards")
def shards_group() -> None:
    """A build's shards served by Ray Serve (PAPERSEARCH_SHARD_SERVICE=ray)."""


@shards_group.command("deploy")
@click.option("--replicas", default=2, show_default=True, help="Replicas of each shard.")
@settings_options
def deploy_command(replicas: int, settings: Settings) -> None:
    """Deploy the current build's shards on the Ray cluster, one shard at a time, each once
    its replicas run; then remove the shards of builds before the previous one. Servers
    switch to the build once every shard of it runs."""
    store = Store.open(settings)
    build = store.builds.current()
    if build is None:
        raise click.ClickException("No build to deploy: run `papersearch index` first.")
    cluster.deploy(settings, build, replicas, say=click.echo)
    earlier = [b.id for b in store.builds.all() if b.id < build.id and b.status == "complete"]
    cluster.retire(settings, {build.id, *earlier[-1:]}, say=click.echo)


@shards_group.command("status")
@JSON_OPTION
@settings_options
def status_command(as_json: bool, settings: Settings) -> None:
    """The shard applications on the Ray cluster and their state."""
    from ray import serve

    cluster.connect(settings)
    found = {name: cluster.state(name) for name in serve.status().applications
             if name.startswith(cluster.PREFIX)}  # fmt: skip
    if as_json:
        click.echo(json.dumps(found))
        return
    for name, state in sorted(found.items()):
        click.echo(f"{name}  {state}")
