"""The one way a tool reports a user's mistake: ``UserError`` → one line on stderr, exit 2.

Every entry point ends with ``sys.exit(cli.run(main))``. A ``UserError`` (bad file, bad flag,
bad config value, refused output folder) prints ``<prog>: error: <message>`` and exits 2; no
traceback reaches the user unless ``--debug`` is given (or ``AAM_DEBUG=1``). Ctrl-C exits 130
after the tool's own ``finally`` blocks have removed their temp files. MindSpore's failure
dumps (``rank_0/om/analyze_fail.ir``) go to the user cache folder, not the current directory.
"""
import os
import sys
import traceback


class UserError(Exception):
    """A mistake in the user's input: the message names the file or value and what is wrong."""


def run(main, argv=None, prog=None):
    """Call ``main(argv)`` and turn user errors and Ctrl-C into exit codes (2 and 130)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("AAM_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    prog = prog or os.path.basename(sys.argv[0] or "aam")
    from .resources import cache_root
    os.environ.setdefault("MS_OM_PATH", os.path.join(cache_root(), "mindspore"))
    try:
        rc = main(argv)
        return 0 if rc is None else rc
    except UserError as e:
        if debug:
            traceback.print_exc()
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
