"""The Runtime API mailbox: hand-over of invocations, first completion wins, stale long-polls give up."""

import threading

from sandbox_localstack.runtime_api import Invocation, Mailbox


def invocation(request_id="r1"):
    return Invocation(request_id, b"{}", "arn:aws:lambda:us-east-1:000000000000:function:f", "Root=1", 0)


def test_invocation_finishes_once():
    inv = invocation()
    assert inv.finish(b"ok", False)
    assert not inv.finish(b"late timeout", True)
    assert (inv.result, inv.is_error) == (b"ok", False)


def test_next_hands_over_and_complete_matches_request_id():
    mailbox = Mailbox()
    inv = invocation("r1")
    mailbox.submit(inv)

    assert mailbox.next_invocation() is inv
    assert mailbox.ready
    assert not mailbox.complete("other-id", b"x", False)
    assert mailbox.complete("r1", b"result", False)
    assert inv.done.is_set() and inv.result == b"result"


def test_exit_fails_the_running_invocation_and_refuses_new_ones():
    mailbox = Mailbox()
    generation = mailbox.reset()
    inv = invocation()
    mailbox.submit(inv)
    mailbox.next_invocation()

    mailbox.report_exit(generation, 3, lambda rid, code: f"{rid} exited {code}".encode())

    assert inv.is_error and inv.result == b"r1 exited 3"
    assert mailbox.exited and mailbox.returncode == 3
    assert not mailbox.submit(invocation("r2"))


def test_exit_of_an_old_process_is_ignored():
    mailbox = Mailbox()
    old = mailbox.reset()
    mailbox.reset()
    mailbox.report_exit(old, 1, lambda rid, code: b"")
    assert not mailbox.exited


def test_long_poll_of_a_replaced_process_gives_up_instead_of_stealing_work():
    mailbox = Mailbox()
    mailbox.reset()
    results = []
    poller = threading.Thread(target=lambda: results.append(mailbox.next_invocation()))
    poller.start()
    while not mailbox.ready:
        pass

    mailbox.reset()  # a new process replaces the one that was polling
    poller.join(5)
    mailbox.submit(invocation("for-the-new-process"))

    assert results == [None]
    assert mailbox.pending is not None and mailbox.pending.request_id == "for-the-new-process"


def test_only_an_invocation_the_runtime_took_counts_as_delivered():
    """The environment hands an undelivered invocation of a runtime that ended to a fresh runtime instead."""
    mailbox = Mailbox()
    generation = mailbox.reset()
    taken, waiting = invocation("r1"), invocation("r2")
    mailbox.submit(taken)
    mailbox.next_invocation()
    mailbox.submit(waiting)

    mailbox.report_exit(generation, 129, lambda rid, code: b"exited")

    assert taken.delivered and taken.is_error
    assert not waiting.delivered and waiting.is_error
