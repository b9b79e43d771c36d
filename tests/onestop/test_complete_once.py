"""An approved task completed twice at the same moment (a double click, two handlers) issues its
certificate once: one completion wins, the other is refused."""

import threading

import httpx
from sqlalchemy import text

from tests.conftest import bearer
from tests.onestop.conftest import apply_bundle
from tests.onestop.test_workflow import act


def test_two_simultaneous_completions_issue_one_certificate(client, runtime, live_url, bundle):
    _, response = apply_bundle(client, bundle)
    assert response.status_code == 201, response.text
    application = response.json()
    task = next(t for t in application["tasks"] if t["department_code"] == "SPJ")
    spj = bearer(client, "spj_handler")
    act(client, spj, task["id"], "accept")
    act(client, spj, task["id"], "review")
    act(client, spj, task["id"], "decide", {"decision": "approved"})

    start = threading.Barrier(2)
    results: list[httpx.Response] = []

    def complete() -> None:
        with httpx.Client(base_url=live_url, headers=spj, timeout=60) as session:
            start.wait()
            results.append(session.post(f"/api/onestop/tasks/{task['id']}/complete"))

    callers = [threading.Thread(target=complete) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=120)
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    refused = next(r for r in results if r.status_code == 409)
    assert refused.json()["error"]["code"] == "wrong_stage"
    with runtime.db.unit_of_work() as db:
        issued = db.execute(
            text("SELECT count(*) FROM certs_certificate WHERE source = :number"), {"number": application["number"]}
        ).scalar_one()
    assert issued == 1
