"""Check a yiwang installation's transparency logs from the outside, over HTTP, in either profile.

    python -m yiwang.certs.verify_log https://yiwang.example.gov.cn [--trust VKEY] [--state FILE]

For every log the installation serves (intl logs over SHA-256 with Ed25519, gm logs over SM3 with
SM2): the latest checkpoint's signature, every entry recomputed into the signed root, and — for a log
frozen at a profile switch — the link to its successor both ways (the frozen log's final checkpoint
names the successor's verifier key; the successor's first entry is that final checkpoint). With
--trust the first log's key is pinned instead of taken from the server; later logs are trusted
through the chain of links. With --state the sizes and roots seen are kept, and the next run checks
that each log only grew (consistency proofs). Uses only `verifier`, never the server's code.
Exit status 0 when everything verifies, 1 otherwise.
"""

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from yiwang.certs import verifier


def _entries(client: httpx.Client, log_id: int, size: int) -> list[bytes]:
    leaves: list[bytes] = []
    for start in range(0, size, 1000):
        params = {"start": start, "end": min(size, start + 1000), "log": log_id}
        page = client.get("/api/transparency/entries", params=params).raise_for_status().json()
        leaves += [base64.b64decode(e["leaf_input"]) for e in page["entries"]]
    return leaves


def _check_growth(
    client: httpx.Client, log: dict[str, Any], seen: dict[str, Any], body: verifier.VerifiedCheckpoint
) -> None:
    before = seen.get(log["origin"])
    if before is None:
        return
    if before["verifier_key"] != log["verifier_key"]:
        raise verifier.ProofError(f"{log['origin']} 的验证密钥与上次不同")
    params = {"first": before["tree_size"], "second": body.tree_size, "log": log["log_id"]}
    proof = client.get("/api/transparency/proof/consistency", params=params).raise_for_status().json()
    verifier.verify_consistency(
        first=before["tree_size"],
        second=body.tree_size,
        first_root=base64.b64decode(before["root_hash"]),
        second_root=body.root_hash,
        proof=[bytes.fromhex(h) for h in proof["consistency"]],
        hash_name=log["algorithms"]["hash"],
    )


def check(
    client: httpx.Client, *, trust: str | None = None, state: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Verify every log the client's server serves; one summary per log. verifier.ProofError names the
    first failure. `state` (origin → last verified head) is checked against and updated in place."""
    seen = state if state is not None else {}
    summaries = []
    served = client.get("/api/transparency/logs").raise_for_status().json()
    expected_vkey = trust
    for log in served:
        vkey = log["verifier_key"]
        if expected_vkey is not None and vkey != expected_vkey:
            raise verifier.ProofError(f"{log['origin']} 的验证密钥不是可信的（或前一日志所指明的）密钥")
        body = verifier.verify_checkpoint(log["checkpoint"], vkey)
        leaves = _entries(client, log["log_id"], body.tree_size)
        if verifier.root_of(leaves, log["algorithms"]["hash"]) != body.root_hash:
            raise verifier.ProofError(f"{log['origin']} 的条目重算的根哈希与已签名检查点不符")
        _check_growth(client, log, seen, body)
        if log["predecessor"] is not None:
            _check_link(log, leaves, served)
        successor = body.extension("successor")
        if log["state"] == "frozen" and successor is None:
            raise verifier.ProofError(f"{log['origin']} 已冻结，但最终检查点未指明接续日志")
        expected_vkey = successor
        seen[log["origin"]] = {
            "verifier_key": vkey,
            "tree_size": body.tree_size,
            "root_hash": base64.b64encode(body.root_hash).decode(),
        }
        summaries.append(
            {
                "origin": log["origin"],
                "state": log["state"],
                "hash": log["algorithms"]["hash"],
                "signature": log["algorithms"]["signature"],
                "tree_size": body.tree_size,
            }
        )
    return summaries


def _check_link(log: dict[str, Any], leaves: list[bytes], served: list[dict[str, Any]]) -> None:
    """The successor's first entry is its predecessor's final checkpoint, signed by the predecessor's key."""
    previous = next((p for p in served if p["origin"] == log["predecessor"]), None)
    if previous is None or not leaves:
        raise verifier.ProofError(f"{log['origin']} 的前一日志缺失")
    link = json.loads(leaves[0])
    final = verifier.verify_checkpoint(link.get("checkpoint", ""), previous["verifier_key"])
    if link.get("type") != "predecessor" or link.get("origin") != previous["origin"]:
        raise verifier.ProofError(f"{log['origin']} 的第 0 条不是前一日志的链接")
    if (final.tree_size, final.root_hash) != (link["tree_size"], base64.b64decode(link["root_hash"])):
        raise verifier.ProofError(f"{log['origin']} 第 0 条与前一日志的最终检查点不符")
    if link["checkpoint"] != previous["checkpoint"]:
        raise verifier.ProofError(f"{previous['origin']} 冻结后又签了新的检查点")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="核验 yiwang 电子证照透明日志（国际与国密两种配置）")
    parser.add_argument("url", help="平台地址，如 https://yiwang.example.gov.cn")
    parser.add_argument("--trust", help="第一个日志的验证密钥（name+keyid+base64）；省略则信任服务器给出的")
    parser.add_argument("--state", type=Path, help="保存已见树头的文件；下次核验日志只增不改")
    args = parser.parse_args(argv)
    state = json.loads(args.state.read_text()) if args.state and args.state.exists() else {}
    try:
        with httpx.Client(base_url=args.url, timeout=60) as client:
            summaries = check(client, trust=args.trust, state=state)
    except (verifier.ProofError, httpx.HTTPError, KeyError, ValueError) as exc:
        print(f"核验失败：{exc}", file=sys.stderr)
        return 1
    if args.state:
        args.state.write_text(json.dumps(state, ensure_ascii=False, indent=1))
    for s in summaries:
        print(f"{s['origin']}: {s['hash']}/{s['signature']} {s['state']} 大小 {s['tree_size']} — 核验通过")
    return 0


if __name__ == "__main__":
    sys.exit(main())
