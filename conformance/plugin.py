"""The pytest plugin: options, collection of the shipped scenarios, fixtures, grading.

With --mcp-server the run consists of the scenarios shipped in the package, wherever
pytest is started; test paths named explicitly on the command line run as well.
"""

from __future__ import annotations

import argparse
import inspect
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from . import checks, ledger, occasions, replay, workers
from . import schema as schemas
from .auth.setup import AuthOptions
from .checks import Blocked, CheckFailed
from .collection import PackageModule, add_keywords, collect_only, is_scenario_file, package_dir, require_schemas
from .session import ConnectionUnusable, NoResponse
from .target import Target
from .transport import TransportClosed, TransportError, close_all, launch

pytest_plugins = ["conformance.client_plugin"]  # the client leg: --mcp-client

OPTIONS = ("--mcp-server", "--mcp-url", "--mcp-transport")
TARGET_KEY = pytest.StashKey[Target]()
VERDICT_KEY = pytest.StashKey[checks.Verdict]()
REPLAY_KEY = pytest.StashKey[dict]()  # the header of the --mcp-replay transcript
TALLY_NAME = "mcp-conformance-tally"
STARTUP_CHECK = "test_server_answers_initialize"
OUTCOME_WORDS = {
    "passed": "PASS",
    "warned": "WARN",
    "informational": "INFO",
    "skipped": "SKIP",
    "blocked": "BLOCKED",
    "failed": "FAIL",
    "internal": "INTERNAL",
    "error": "ERROR",
    "xfailed": "XFAIL",
}  # XFAIL: a failure listed in --mcp-expected-failures


def scenarios_dir() -> Path:
    return package_dir("conformance.scenarios")


# -- options ------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    group = parser.getgroup("mcp-conformance", "MCP conformance")
    try:
        group.addoption(
            "--mcp-server",
            metavar="CMD",
            help="command that starts the MCP server under test (for HTTP it may contain {port})",
        )
        group.addoption("--mcp-url", metavar="URL", help="endpoint of an MCP server already running over HTTP")
        group.addoption(
            "--mcp-transport",
            choices=["stdio", "http", "sse"],
            default=None,
            help="stdio (default with --mcp-server), http (Streamable HTTP; default with --mcp-url) "
            "or sse (the 2024-11-05 HTTP+SSE transport)",
        )
    except (ValueError, argparse.ArgumentError):  # which one depends on the pytest version
        raise pytest.UsageError(_conflict_message(pluginmanager)) from None
    group.addoption(
        "--mcp-workers",
        type=workers.parse_workers,
        default=workers.AUTO,
        metavar="N",
        help="pytest-xdist workers running revisions side by side: a number, 0 for a serial run, "
        "or auto (the default: one per core, at most one per revision and 4)",
    )
    group.addoption(
        "--mcp-timeout", type=float, default=5.0, metavar="SECONDS", help="how long to wait for any answer (default 5)"
    )
    group.addoption(
        "--mcp-version",
        action="append",
        default=[],
        metavar="REV",
        help="test only this protocol revision (repeatable); default: every revision the server supports",
    )
    group.addoption(
        "--mcp-call-tools",
        choices=["none", "readonly", "all"],
        default="readonly",
        help="which tools the suite may call: none, readonly (annotated readOnlyHint and not "
        "destructive; the default) or all",
    )
    group.addoption("--mcp-strict", action="store_true", help="a missed SHOULD fails the check instead of warning")
    group.addoption(
        "--mcp-schema-dir",
        metavar="DIR",
        help=f"directory holding <revision>/schema.json (or set {schemas.ENV_SCHEMA_DIR})",
    )
    group.addoption(
        "--mcp-fuzz",
        choices=["quick", "deep"],
        default="quick",
        help="fuzz budget per check: quick (the default: generated cases for --mcp-timeout / 50 "
        "seconds) or deep (500 cases or 30 s); --hypothesis-seed repeats a run",
    )
    group.addoption(
        "--mcp-fuzz-examples",
        type=_positive,
        default=None,
        metavar="N",
        help="exactly N generated cases per fuzz check, however long they take (overrides --mcp-fuzz)",
    )
    group.addoption(
        "--mcp-auth-token",
        metavar="TOKEN",
        default=None,
        help="a valid bearer token for a protected server that trusts another authorization server "
        "(or set MCP_CONFORMANCE_AUTH_TOKEN): every check sends it; checks that need tokens "
        "the suite mints are skipped",
    )
    group.addoption(
        "--mcp-auth-port",
        type=_port,
        default=None,
        metavar="N",
        help="start the suite's authorization server on 127.0.0.1:N (issuer http://127.0.0.1:N), for "
        "a server already running (--mcp-url) that was configured to trust it; implies a "
        "serial run. With --mcp-server, put {issuer} in the command instead",
    )
    group.addoption(
        "--mcp-auth-key",
        metavar="FILE",
        default=None,
        help="keep the authorization server's signing keys in FILE (a private JWK set, created if "
        "missing), for servers that cache its JWKS across runs; default: new keys each run",
    )
    group.addoption(
        "--mcp-replay",
        metavar="FILE",
        help="re-run the transcript a failed fuzz check saved (only that check and revision run)",
    )


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a TCP port (1-65535), got {text!r}")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of examples, got {text!r}")
    return int(text)


def _conflict_message(pluginmanager: pytest.PytestPluginManager) -> str:
    owners = []
    for name, plugin in pluginmanager.list_name_plugin():
        hook = getattr(plugin, "pytest_addoption", None)
        if plugin is None or hook is None or inspect.getmodule(hook) is inspect.getmodule(_conflict_message):
            continue
        scratch = pytest.Parser()
        try:
            kwargs = {"parser": scratch, "pluginmanager": pluginmanager}
            hook(**{k: v for k, v in kwargs.items() if k in inspect.signature(hook).parameters})
        except Exception:
            continue
        registered = {n for group in (scratch._anonymous, *scratch._groups) for o in group.options for n in o.names()}
        if registered.intersection(OPTIONS):
            owners.append(name)
    who = f"the plugin {', '.join(repr(o) for o in owners)}" if owners else "another installed pytest plugin"
    return (
        f"mcp-conformance cannot register --mcp-server: {who} already registers it. "
        f"Uninstall one of the two, or disable the other for this run with -p no:<plugin-name>."
    )


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    workers.add_worker_args(early_config, args)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """A revision is one unit of work for the xdist workers (conformance.workers)."""
    target = config.stash.get(TARGET_KEY, None)
    return workers.make_scheduler(config, log, target.revisions) if target is not None else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mcp_requirement(*ids): requirement IDs a conformance check verifies")
    config.addinivalue_line("markers", "mcp_sweep: a check judging the whole run; it runs after all others")
    config.addinivalue_line("markers", "mcp_scenarios(*names, param=None): the client scenarios a check judges")
    config.addinivalue_line("markers", f"{occasions.MARK}(name): a check judging work started ahead (occasions)")
    if not config.pluginmanager.has_plugin(TALLY_NAME):
        config.pluginmanager.register(Tally(), TALLY_NAME)
    command, url = config.getoption("--mcp-server"), config.getoption("--mcp-url")
    if not command and not url:
        return
    kind = config.getoption("--mcp-transport") or ("http" if url else "stdio")
    if kind == "stdio" and not command:
        raise pytest.UsageError("--mcp-transport stdio needs --mcp-server")
    revisions = sorted(set(config.getoption("--mcp-version") or schemas.revisions()))
    if config.getoption("--mcp-replay"):
        revisions = [_load_replay(config)["revision"]]
    unknown = [r for r in revisions if r not in schemas.revisions()]
    if unknown:
        raise pytest.UsageError(f"unknown revision(s) {', '.join(unknown)}; known: {', '.join(schemas.revisions())}")
    require_schemas(revisions, config.getoption("--mcp-schema-dir"))
    config.stash[TARGET_KEY] = Target(
        command,
        timeout=config.getoption("--mcp-timeout"),
        revisions=revisions,
        schema_dir=config.getoption("--mcp-schema-dir"),
        call_tools=config.getoption("--mcp-call-tools"),
        transport_kind=kind,
        url=url,
        auth=_auth_options(config, command, kind),
    )
    _start_authorization_server(config, config.stash[TARGET_KEY])
    _keep_hypothesis_out_of_cwd()
    collect_only(config, scenarios_dir())


def _auth_options(config: pytest.Config, command: str | None, kind: str) -> AuthOptions:
    options = AuthOptions.from_config(
        command,
        config.getoption("--mcp-auth-port"),
        config.getoption("--mcp-auth-key"),
        config.getoption("--mcp-auth-token"),
    )
    if options.issuer_wanted and kind != "http":
        raise pytest.UsageError(
            "the suite's authorization server ({issuer}, --mcp-auth-port) protects Streamable "
            f"HTTP servers; this run uses {kind} (stdio servers take credentials from "
            "their environment, not OAuth)"
        )
    return options


def _start_authorization_server(config: pytest.Config, target: Target) -> None:
    """Start the suite's authorization server before any server is (on the process that
    runs the checks: an xdist controller only checks the key file, which it creates for its
    workers to share). A port in use or a bad key file is a usage error, said once."""
    from .transport import ServerStartError

    controller = getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput")
    try:
        if controller and target.auth.options.key_file:
            from .auth.keys import KeyFileError, SigningKeys

            try:
                SigningKeys.load(target.auth.options.key_file)
            except KeyFileError as error:
                raise ServerStartError(str(error)) from None
        elif not controller:
            target.auth.start()
    except ServerStartError as error:
        raise pytest.UsageError(error.reason) from None


def _keep_hypothesis_out_of_cwd() -> None:
    """Hypothesis' caches (unicode tables, constants) go to the user cache, not into the
    directory the suite runs in (a CI checkout); its example database is off anyway."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(schemas.cache_dir().parent / "hypothesis")


def _load_replay(config: pytest.Config) -> dict:
    try:
        header, _ = replay.load(config.getoption("--mcp-replay"))
    except replay.NotATranscript as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[REPLAY_KEY] = header
    return header


def pytest_unconfigure(config: pytest.Config) -> None:
    target = config.stash.get(TARGET_KEY, None)
    if target is not None:
        target.close()
    close_all()
    launch.close_all()


# -- collection -----------------------------------------------------------------------------
class ScenarioModule(PackageModule):
    """A shipped server scenario module (conformance.scenarios)."""


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if is_scenario_file(file_path, scenarios_dir()) and parent.config.stash.get(TARGET_KEY, None):
        return ScenarioModule.from_parent(parent, path=file_path)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    target = metafunc.config.stash.get(TARGET_KEY, None)
    if target is not None and "revision" in metafunc.fixturenames:
        metafunc.parametrize("revision", target.revisions, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    header = config.stash.get(REPLAY_KEY, None)
    if header is not None:  # --mcp-replay: only the check that saved the transcript
        deselected = [item for item in items if getattr(item, "originalname", None) != header["check"]]
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]
    add_keywords(items, ScenarioModule)
    items.sort(key=run_order)


def run_order(item: pytest.Item) -> int:
    """The startup check first (if the server cannot start, it says why before anything
    else); sweep checks last (they judge what the whole run saw)."""
    if getattr(item, "originalname", None) == STARTUP_CHECK:
        return 0
    return 2 if item.get_closest_marker("mcp_sweep") else 1


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mcp_target(request: pytest.FixtureRequest) -> Target:
    target = request.config.stash.get(TARGET_KEY, None)
    if target is None:
        pytest.skip("no implementation under test (give --mcp-server)")
    return target


@pytest.fixture
def mcp(mcp_target: Target, revision: str, request: pytest.FixtureRequest):
    """The shared, initialized session for this revision (skipped if the server lacks it).
    Its first use starts the revision's occasions (conformance.occasions)."""
    session = mcp_target.shared(revision)
    occasions.start_ahead(mcp_target, session, revision, request.session.items)
    checks.current().watch(session)
    return session


@pytest.fixture
def mcp_connect(mcp_target: Target, request: pytest.FixtureRequest):
    """Factory of fresh server processes: mcp_connect(initialize=True, revision=None).
    Each is stopped when the check ends."""
    callspec = getattr(request.node, "callspec", None)
    default_revision = callspec.params.get("revision") if callspec else None
    started = []

    def connect(initialize: bool = True, revision: str | None = None, require_usable: bool = True):
        if require_usable:
            mcp_target.ensure_usable()
            if default_revision and revision in (None, default_revision):
                mcp_target.shared(default_revision)  # skips a revision the server lacks
        session = mcp_target.connect(revision or default_revision)
        started.append(session)
        checks.current().watch(session)
        if initialize:
            session.open(session.revision)
        return session

    yield connect
    for session in started:
        mcp_target.close_fresh(session)


# -- grading -------------------------------------------------------------------------------
def is_check(item: pytest.Item) -> bool:
    """A conformance check: tagged with requirements, or talking to the implementation."""
    return item.get_closest_marker("mcp_requirement") is not None or bool(
        {"mcp", "mcp_connect", "mcp_target"} & set(getattr(item, "fixturenames", ()))
    )


def revision_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("revision", "any") if callspec else "any"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if not is_check(item):
        return
    item.stash[VERDICT_KEY] = checks.begin(getattr(item, "originalname", item.name))
    marker = item.get_closest_marker("mcp_requirement")
    item.user_properties.append(("mcp_requirements", list(marker.args) if marker else []))
    item.user_properties.append(("mcp_revision", revision_of(item)))
    if isinstance(item.parent, ScenarioModule):
        item.user_properties.append(("mcp_area", item.parent.path.stem))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    verdict = item.stash.get(VERDICT_KEY, None)
    if verdict is None:
        return (yield)
    target = item.config.stash.get(TARGET_KEY, None)
    if target is not None:
        _owner_of_block(target, item, verdict, proven_only=True)
    try:
        result = yield
    except ConnectionUnusable as error:
        raise _unusable_connection(item, verdict, error) from error
    except TransportClosed as error:
        target = item.config.stash.get(TARGET_KEY, None)
        again = target.connection_ended(revision_of(item), verdict.check, error) if target else None
        if again is not None:
            raise again from error
        raise
    except (CheckFailed, TransportError) as error:
        if isinstance(error, CheckFailed) and error.owner not in (None, verdict.check):
            raise Blocked(str(error).split("\n", 1)[0], error.owner) from error
        owner = _session_rule_owner(verdict, error)
        if owner is not None:
            raise Blocked(
                f"the messages this check judged break a rule about the whole session: {owner[1]}", owner[0]
            ) from error
        raise
    owner = _session_rule_owner(verdict, None) if verdict.warnings else None
    if owner is not None:  # a SHOULD judged on a broken envelope (an error code that is a string...)
        raise Blocked(f"the messages this check judged break a rule about the whole session: {owner[1]}", owner[0])
    if target is not None:
        _owner_of_block(target, item, verdict)
        target.passed.add((verdict.check, revision_of(item)))
    return result


def _owner_of_block(target: Target, item: pytest.Item, verdict: checks.Verdict, proven_only: bool = False) -> None:
    """A check that owns the rule an earlier check found broken (and blocked the revision
    for) does not pass because its own connection happened to hold out: it fails with what
    was found, so the blocked checks name a failure. Where the finding carries its proof (a
    request that went unanswered, and where), the owner fails with it before it runs
    (`proven_only`): proving it again would cost the run another timeout."""
    blocked = target.blocks.get(revision_of(item))
    if blocked is None or blocked.owner != verdict.check:
        return
    evidence = getattr(blocked.cause, "evidence", None)
    if proven_only and (evidence is None or blocked.met_by == verdict.check):
        return
    if evidence is not None:
        verdict.watch(*evidence)
    signatures = _signatures(item, blocked.cause) if isinstance(blocked.cause, NoResponse) else ()
    raise CheckFailed(
        f"{blocked.reason} (met by {blocked.met_by}, on a connection of this revision; "
        "the revision's other checks are BLOCKED by it)",
        signatures,
    )


def _unusable_connection(item: pytest.Item, verdict: checks.Verdict, error: ConnectionUnusable) -> Exception:
    """The connection cannot be used (the target has blocked its revision): the check that
    owns the broken rule fails; any other check is BLOCKED naming it."""
    target = item.config.stash.get(TARGET_KEY, None)
    blocked = target.blocks.get(revision_of(item)) if target is not None else None
    if blocked is None or blocked.owner == verdict.check:
        return error
    return Blocked(blocked.reason, blocked.owner)


def _session_rule_owner(verdict: checks.Verdict, error: Exception | None) -> tuple[str, str] | None:
    """(owner, violation) when the check's failure rests on a message that breaks a
    session-wide rule another check owns: an answer that was no JSON-RPC message (for a
    check that got no usable answer) or a response whose envelope is broken."""
    if verdict.check == STARTUP_CHECK:
        return None  # it judges the server's first answer, whatever is wrong with it
    for session, mark in verdict.sessions:
        for entry in session.transcript[mark:]:
            message = entry.message
            if message is not None and message.is_response and message.problems and entry.direction == "<-":
                owner = ledger.owner_of("envelope", message)  # both result and error, say: no schema says it
                if owner != verdict.check:
                    return owner, "; ".join(message.problems)
            for violation in entry.violations:
                rule = ledger.rule_of(entry.message, violation)
                if not (rule == "envelope" or (rule == "framing" and isinstance(error, TransportError))):
                    continue
                owner = ledger.owner_of(rule, entry.message)
                if owner != verdict.check:
                    return owner, str(violation)
    return None


@pytest.hookimpl(tryfirst=True, specname="pytest_runtest_makereport")
def pytest_runtest_makereport_without_traceback(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport | None:
    """The report of a check that ended BLOCKED or failed as judged: the wrapper below
    writes its text, so pytest's traceback, whose making reads and parses source files
    (some 30 ms a check; a broken server blocks a hundred), is not made."""
    error = call.excinfo.value if call.excinfo is not None else None
    if not isinstance(error, (Blocked, CheckFailed, TransportError)) or not is_check(item):
        return None
    sections = [(f"Captured {key} {when}", content) for when, key, content in item._report_sections]
    return pytest.TestReport(
        item.nodeid,
        item.location,
        {name: 1 for name in item.keywords},
        "failed",
        str(error),
        call.when,
        sections,
        call.duration,
        call.start,
        call.stop,
        item.user_properties,
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    verdict = item.stash.get(VERDICT_KEY, None)
    if report.when == "teardown" and verdict is not None:
        del item.stash[VERDICT_KEY]  # its sessions hold whole transcripts: free them per check
    if not is_check(item) or not (report.when == "call" or report.failed):
        return report
    verdict = verdict or checks.Verdict()
    error = call.excinfo.value if call.excinfo is not None else None
    detail = {"signatures": [], "blocked_by": None}
    if isinstance(error, Blocked):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Blocked: {error}")
        _grade(item, report, "blocked")
        detail["blocked_by"] = error.owner
    elif report.failed and isinstance(error, (CheckFailed, TransportError)):
        report.longrepr = _explain(item, error, verdict)
        detail["signatures"] = [str(s) for s in _signatures(item, error)]
    elif report.failed and isinstance(error, Exception) and not isinstance(error, AssertionError):
        report.longrepr = (
            "INTERNAL ERROR of mcp-conformance: this is a bug of the suite, not a failure of the "
            "implementation under test; please report it with this traceback.\n" + str(report.longrepr)
        )
        _grade(item, report, "internal")
    elif report.passed and verdict.warnings:
        if item.config.getoption("--mcp-strict"):
            report.outcome = "failed"
            report.longrepr = _explain(
                item, CheckFailed("SHOULD missed (--mcp-strict):\n  " + "\n  ".join(verdict.warnings)), verdict
            )
        else:
            report.sections.append(("SHOULD missed", "\n".join(verdict.warnings)))
            _grade(item, report, "warned")
    elif report.passed and verdict.infos:
        _grade(item, report, "informational")
    if verdict.infos:
        report.sections.append(("notes", "\n".join(verdict.infos)))
    if report.failed or verdict.warnings:
        report.sections.append(("wire transcript", verdict.transcripts() or "(no messages exchanged)"))
    target = item.config.stash.get(TARGET_KEY, None)
    # Plain data on the report (xdist carries it to the controller) for the reporting plugin.
    report.mcp_detail = {
        "warnings": verdict.warnings,
        "infos": verdict.infos,
        "messages": verdict.messages(),
        "server_info": target.server_info if target else None,
        **detail,
    }
    return report


def _signatures(item: pytest.Item, error: Exception) -> list[checks.Signature]:
    """The root causes of a failure: those the check named (claimed in the ledger, so the
    schema sweep does not report them again), a connection that ended, or by default the
    check's own requirements (one check failing in several revisions is one problem)."""
    if isinstance(error, CheckFailed) and error.signatures:
        ledger.LEDGER.claim(revision_of(item), error.signatures)
        return error.signatures
    if isinstance(error, NoResponse):  # one problem per method left unanswered, whichever check met it
        method = getattr(error, "method", "")
        return [checks.Signature(ledger.SCHEMA_REQUIREMENT, "no response", "", method)]
    if isinstance(error, TransportError):
        return [checks.Signature("transport", type(error).__name__, "", error.reason)]
    marker = item.get_closest_marker("mcp_requirement")
    return [checks.Signature(",".join(marker.args) if marker else "", method=getattr(item, "originalname", ""))]


def _grade(item: pytest.Item, report: pytest.TestReport, outcome: str) -> None:
    """Mark a passed check WARN or INFO, on this report and on the item (JUnit XML writes
    the properties of the teardown report, which copies the item's)."""
    report.user_properties.append(("mcp_outcome", outcome))
    item.user_properties.append(("mcp_outcome", outcome))


def _explain(item: pytest.Item, error: Exception, verdict: checks.Verdict) -> str:
    marker = item.get_closest_marker("mcp_requirement")
    doc = inspect.getdoc(getattr(item, "function", None)) or ""
    lines = [f"Check: {item.name}"]
    if marker:
        lines.append(f"Requirements: {', '.join(marker.args)}")
    if doc:
        lines.append("Expected: " + doc.replace("\n", "\n          "))
    happened = error.explain() if isinstance(error, TransportError) else str(error)
    lines.append("What happened: " + happened.replace("\n", "\n  "))
    if verdict.warnings:
        lines.append("Also (SHOULD): " + "; ".join(verdict.warnings))
    return "\n".join(lines)


def _mcp_outcome(report) -> str | None:
    for key, value in getattr(report, "user_properties", ()):  # a CollectReport has none
        if key == "mcp_outcome":
            return value
    return None


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    outcome = _mcp_outcome(report)
    if report.when == "call" and report.passed:
        if outcome == "warned":
            return "warned", "W", ("WARN", {"yellow": True})
        if outcome == "informational":
            return "informational", "I", ("INFO", {"cyan": True})
    if outcome == "blocked" and report.skipped:
        return "blocked", "B", ("BLOCKED", {"yellow": True})
    if outcome == "internal" and report.failed:
        return "internal", "!", ("INTERNAL", {"red": True, "bold": True})
    return None


def outcome_word(report: pytest.TestReport) -> str | None:
    """The grade a phase report gives its check (None: the phase says nothing new)."""
    graded = _mcp_outcome(report)
    if report.failed:
        return "INTERNAL" if graded == "internal" else "ERROR" if report.when == "teardown" else "FAIL"
    if report.skipped:
        return "XFAIL" if hasattr(report, "wasxfail") else "BLOCKED" if graded == "blocked" else "SKIP"
    if report.when == "call":
        return {"warned": "WARN", "informational": "INFO"}.get(graded or "", "PASS")
    return None


class Tally:
    """Every check's grade, on the process that sees every report (the xdist controller
    too): the counts per revision, the failures' root causes and the exit status."""

    GRADED = ("PASS", "WARN", "INFO", "FAIL", "XFAIL")  # the check judged its requirement

    def __init__(self) -> None:
        self.grades: dict[str, tuple[str, str]] = {}  # nodeid -> (revision, grade)
        self.signatures: dict[str, list[str]] = {}  # nodeid of a failed check -> its root causes
        self.not_tested: dict[str, str] = {}  # revision -> why it was not tested

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        word = outcome_word(report)
        if (
            "mcp_revision" not in props
            or word is None
            or self.grades.get(report.nodeid, ("", ""))[1] in ("FAIL", "INTERNAL")
        ):
            return
        revision = str(props["mcp_revision"])
        self.grades[report.nodeid] = (revision, word)
        if word == "FAIL":
            self.signatures[report.nodeid] = list((getattr(report, "mcp_detail", None) or {}).get("signatures") or [])
        reason = str(report.longrepr[2]) if word == "SKIP" and isinstance(report.longrepr, tuple) else ""
        if "not supported" in reason:
            self.not_tested.setdefault(revision, reason.removeprefix("Skipped: "))

    def counts(self) -> dict[str, Counter]:
        table: dict[str, Counter] = defaultdict(Counter)
        for revision, word in self.grades.values():
            table[revision][word] += 1
        return table

    def problems(self) -> dict[str, list[str]]:
        return checks.problems((nodeid.rsplit("::", 1)[-1], sigs) for nodeid, sigs in self.signatures.items())

    @property
    def internal(self) -> int:
        return sum(word == "INTERNAL" for _, word in self.grades.values())

    @property
    def nothing_tested(self) -> bool:
        return bool(self.grades) and not any(word in self.GRADED for _, word in self.grades.values())


def tally(config: pytest.Config) -> Tally:
    return config.pluginmanager.get_plugin(TALLY_NAME) or Tally()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """INTERNAL errors exit with pytest's status 3; a run that graded nothing fails."""
    if hasattr(session.config, "workerinput"):
        return  # the controller decides
    counted = tally(session.config)
    if counted.internal:
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
    elif counted.nothing_tested and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    counted = tally(config)
    target = config.stash.get(TARGET_KEY, None)
    if target is not None:
        terminalreporter.section("MCP conformance")
        count = getattr(config.option, "numprocesses", None)
        side_by_side = f", revisions side by side on {count} workers" if isinstance(count, int) and count > 1 else ""
        terminalreporter.line(f"server: {target.url or target.command} ({target.transport_kind}{side_by_side})")
        if target.auth.active:
            terminalreporter.line("authorization: " + target.auth.describe())
        server_info = next(
            (
                r.mcp_detail["server_info"]
                for reports in terminalreporter.stats.values()
                for r in reports
                if getattr(r, "mcp_detail", {}).get("server_info")
            ),
            None,
        )
        if server_info:
            terminalreporter.line(f"serverInfo: {server_info}")
        counts = counted.counts()
        for revision in sorted(counts):
            line = ", ".join(
                f"{counts[revision][word]} {word}" for word in OUTCOME_WORDS.values() if counts[revision][word]
            )
            note = counted.not_tested.get(revision) if not counts[revision]["PASS"] else None
            terminalreporter.line(f"  {revision:12} {line}" + (f"  ({note})" if note else ""))
    for report in terminalreporter.stats.get("internal", []):
        terminalreporter.section(f"INTERNAL ERROR: {report.nodeid}", sep="_", red=True)
        terminalreporter.line(str(report.longrepr))
    if counted.grades:
        _verdict_lines(terminalreporter, counted)


def _verdict_lines(terminalreporter, counted: Tally) -> None:
    """One defect, one line: failed checks grouped by root cause, and what the exit status means."""
    problems = counted.problems()
    if counted.signatures:
        terminalreporter.line(
            f"{len(problems)} distinct problem{'s' * (len(problems) != 1)} in "
            f"{len(counted.signatures)} failed check{'s' * (len(counted.signatures) != 1)}:",
            red=True,
        )
        for number, (signature, failed) in enumerate(problems.items(), 1):
            shown = ", ".join(failed[:6]) + (f" and {len(failed) - 6} more" if len(failed) > 6 else "")
            terminalreporter.line(f"  [{number}] {signature}: {shown}")
    if counted.internal:
        terminalreporter.line(
            f"{counted.internal} INTERNAL error(s): bugs of mcp-conformance, not failures of "
            "the implementation (exit status 3); please report them",
            red=True,
            bold=True,
        )
    elif counted.nothing_tested:
        terminalreporter.line(
            "nothing was tested: every selected check was skipped or blocked (exit status 1)", red=True
        )
