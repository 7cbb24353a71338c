"""SIGKILL ``counter-client sync`` at random moments while it uploads scans in chunks and submits
cases, then let it finish: every case reaches the platform exactly once, with every blob whole and
verified, and the client knows it (outbox acknowledged with the platform's hash, reconciliation
clean). Between kills: nothing the client calls acknowledged is missing on the platform or held
there under another hash, nothing is ever rejected (a resend after a kill is an identical replay,
never a 409), and the platform holds nothing that is not ours.

Each run is the real ``counter-client sync --json`` (``counter_client.__main__.main``), forked from
a warm interpreter (``sync_support.Zygote``) and killed with SIGKILL by its pid. Where it is
killed is drawn from a seeded RNG (``FAULT_SEED``), with four kinds of moment:

* ``time``: a delay drawn over the length of a typical pass;
* ``patch``: just after the k-th blob PATCH of the run reached the platform's door (the chunk in
  flight, being stored, or stored and its answer on the way back);
* ``put``: just after a ``PUT /cases`` reached the door (before or while the platform commits);
* ``commit``: as soon as the platform has committed a new case (before the client has recorded
  the acknowledgement: the send is then in doubt, and must be settled by asking, not resending).

A ``FaultProxy`` with no rules sits between client and platform to see those moments (and count
the bytes that went up: an upload must resume from the platform's offset, not start again).
New cases are collected while the kills go on, so every run has work to be killed in; the
platform's simulated 办理地 sends statuses meanwhile, and at the end the client must hold exactly
the platform's status feed up to its cursor. Right after the first kill, a new pass must not be
held up by the dead sender (rule 6: its lock died with it) — it starts at once and delivers; after
the others, "time passes" (``ClientDir.time_passes``: back-off delays run out).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time

import pytest

from tests.faults.fault_proxy import FaultProxy
from tests.faults.sync_support import (
    HALL,
    MIB,
    ClientDir,
    Zygote,
    add_cases,
    assert_exactly_once,
    partial_uploads,
    platform_db,
    prepare_client,
    shared_keyring,  # noqa: F401 - fixture
    sync_until_done,
    wait_for,
    zygote,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fork")]

KILLS = int(os.environ.get("SYNC_KILLS", "50"))
SLOW_KILLS = int(os.environ.get("SYNC_KILLS_SLOW", "300"))
CASES = 12
KEEP_PENDING = 6  # collect more cases when fewer wait to be delivered
CHUNK_MB = 0.25
PASS_S = 0.5  # a typical pass at first (login, checks, ~6 cases with a 1-3 MiB scan each, status pull);
# then the mean of the passes that ran to their end
MODES = ("time", "patch", "put", "commit")
WEIGHTS = (3, 3, 1, 2)


class Tally:
    def __init__(self) -> None:
        self.modes: dict[str, int] = {m: 0 for m in MODES}
        self.killed = 0  # kills that hit a running pass
        self.finished = 0  # passes that ended before their kill came
        self.mid_send = 0  # kills that left an item in "sending"
        self.ack_lost = 0  # ... of which the platform had committed: the in-doubt path
        self.mid_upload = 0  # kills that left a blob uploaded in part
        self.restart_checked = False
        self.durations: list[float] = []  # of the passes that ran to their end

    def typical_pass(self) -> float:
        recent = self.durations[-10:]
        return sum(recent) / len(recent) if recent else PASS_S

    def __str__(self) -> str:
        return (f"modes {self.modes}, killed {self.killed}, finished first {self.finished}, mid-send {self.mid_send}, "
                f"committed-but-unacknowledged {self.ack_lost}, mid-upload {self.mid_upload}")


def test_kill_sync_at_random_moments(tmp_path, platform_server, shared_keyring):
    run_kills(tmp_path, platform_server, shared_keyring, KILLS, int(os.environ.get("FAULT_SEED", "23")))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_kill_sync_many_times(tmp_path, platform_server, shared_keyring):
    run_kills(tmp_path, platform_server, shared_keyring, SLOW_KILLS, int(os.environ.get("FAULT_SEED", "29")))


def run_kills(tmp_path, platform_server, keyring_file, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    server = platform_server(extra_args=["--simulate-every", "2"])  # statuses come back while we sync
    with FaultProxy(server.url) as proxy:
        client = prepare_client(tmp_path / "client", proxy.base_url, keyring_file, chunk_mb=CHUNK_MB)
        ctx = client.context()  # the counter: collects new cases between kills
        forks = zygote()
        platform = platform_db(server.data_dir)
        tally = Tally()
        try:
            add_cases(client, CASES, rng, ctx=ctx)
            for n in range(kills):
                if client.pending() < KEEP_PENDING:
                    add_cases(client, 3, rng, ctx=ctx)
                mode = rng.choices(MODES, WEIGHTS)[0]
                tally.modes[mode] += 1
                out = tmp_path / "runs" / f"{n:03d}.out"
                kill_one_pass(client, forks, proxy, platform, server.data_dir, rng, mode, out, tally)
                check_between_kills(client, platform, tally)
                if not tally.restart_checked:
                    check_the_dead_sender_holds_nothing_up(client, forks, tmp_path / "runs" / "after.out")
                    tally.restart_checked = True
                client.time_passes()
        finally:
            platform.close()
            ctx.close()
        print(f"\n{kills} kills over {len(client.expected)} cases: {tally}")

        reports = sync_until_done(client, fork=False)  # a fresh counter-client process, as a clerk runs it
        held = assert_exactly_once(client, server.data_dir)

        # statuses: the client kept exactly the platform's feed up to its cursor, each event once
        cursor = client.status_cursor()
        conn = platform_db(server.data_dir)
        try:
            feed = conn.execute("SELECT seq, receipt_no, item_code, status FROM status_events WHERE hall_code = ?"
                                " AND seq <= ? ORDER BY seq", [HALL, cursor]).fetchall()
        finally:
            conn.close()
        assert client.status_events() == [tuple(r) for r in feed]
        assert feed, "no status came back: the pull was never exercised"

        # uploads resumed from the platform's offset: what went up is the scans, plus at most about
        # a chunk per interrupted or refused PATCH, not the scans again after every kill
        scan_bytes = sum(size for scans in client.expected.values() for _, size in scans)
        slack = 2 * (kills + len(reports)) * CHUNK_MB * MIB + 4 * MIB
        assert proxy.bytes_to_upstream <= scan_bytes + slack, (proxy.bytes_to_upstream, scan_bytes, slack)
        assert proxy.count("PUT", r"/cases/") >= len(held)

        assert tally.killed >= kills * 0.7, f"most passes ended before their kill: {tally}"
        assert tally.mid_upload >= 1, f"no kill landed inside a blob upload: {tally}"
        assert tally.ack_lost >= 1, f"no kill landed between the platform's commit and the client's ack: {tally}"
        assert tally.restart_checked


def kill_one_pass(client: ClientDir, forks: Zygote, proxy: FaultProxy, platform, platform_data, rng: random.Random,
                  mode: str, out, tally: Tally) -> None:
    out.parent.mkdir(exist_ok=True)
    tally.mid_upload += bool(partial_uploads(platform_data))  # left by the last kill: this pass resumes there
    patches, puts = proxy.count("PATCH"), proxy.count("PUT", r"/cases/")
    committed = platform.execute("SELECT count(*) FROM cases").fetchone()[0]
    started = time.monotonic()
    pid = forks.start(client.argv("sync", "--json"), out, client.child_env)

    def finished() -> bool:
        return out.exists() and out.stat().st_size > 0

    if mode == "time":
        wait_for(finished, rng.uniform(0.0, tally.typical_pass()), interval=0.002)
    elif mode == "patch":
        k = rng.randint(1, 10)
        wait_for(lambda: finished() or proxy.count("PATCH") >= patches + k, 20, interval=0.0005)
        time.sleep(rng.uniform(0.0, 0.004))  # the chunk on its way, or being stored
    elif mode == "put":
        wait_for(lambda: finished() or proxy.count("PUT", r"/cases/") > puts, 20)
        time.sleep(rng.uniform(0.0, 0.004))
    else:  # commit
        wait_for(lambda: finished() or platform.execute("SELECT count(*) FROM cases").fetchone()[0] > committed, 20)
    os.kill(pid, signal.SIGKILL)
    status = forks.wait(pid)
    text, errors = read(out), read(out.with_name(out.name + ".err"))  # missing if killed right after the fork
    assert "Traceback" not in text + errors, (text + errors)[-3000:]
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        tally.killed += 1
    else:  # ran to its end before the kill: then it must have ended well
        tally.finished += 1
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) in (0, 1), (status, text[-3000:])
        report = json.loads(text)
        assert report["rejected"] == 0, report
        tally.durations.append(time.monotonic() - started)
    assert time.monotonic() - started < 60


def read(path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def check_between_kills(client: ClientDir, platform, tally: Tally) -> None:
    items = client.outbox()
    held = dict(platform.execute("SELECT receipt_no, payload_hash FROM cases").fetchall())
    assert set(held) <= set(client.expected), f"the platform holds cases never made: {set(held) - set(client.expected)}"
    states = {item["state"] for item in items.values()}
    assert states <= {"queued", "sending", "in_doubt", "retry_wait", "acked"}, {
        k: (i["state"], i["last_error"]) for k, i in items.items() if i["state"] in ("rejected", "held")}
    for key, item in items.items():
        if item["state"] == "acked":
            assert held.get(key) == item["payload_hash"] != "", f"{key} acked; the platform holds {held.get(key)}"
        if key in held and item["payload_hash"]:
            assert held[key] == item["payload_hash"], f"{key}: the platform holds another body"
    sending = [key for key, item in items.items() if item["state"] == "sending"]
    tally.mid_send += bool(sending)
    tally.ack_lost += sum(1 for key in sending if key in held)


def check_the_dead_sender_holds_nothing_up(client: ClientDir, forks: Zygote, out) -> None:
    """Rule 6 after a kill: the killed sender's lock went with its process, so a new pass starts at
    once (no waiting out a lease) and gets on with the work."""
    pid = forks.start(client.argv("sync", "--json"), out, client.child_env)
    status = forks.wait(pid)
    text = out.read_text(encoding="utf-8")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, text
    report = json.loads(text)
    assert report["busy"] is False and report["requests"] > 0, report
