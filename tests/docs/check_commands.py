#!/usr/bin/env python3
"""check_commands.py SOURCE_ROOT BUILD_DIR: the commands README.md and docs/*.md give users
still work, checked cheaply (nothing long runs). A command is a line of a ```sh block, or an
inline `code span` that starts with a program (a path, a colt program's name, a launcher).
For each one:
  - a path into a build directory names a directory a documented command makes (samples/run.sh
    makes build/ with the samples only, benchmarks/report build-bench/ with the benchmarks
    only, ...), a kind of program that directory builds, and a program that kind declares;
  - a path into the repository exists, and a script is executable;
  - every --flag given to a colt program, or named in the comment after it, is one its --help
    lists (the program as built in BUILD_DIR; a program not built there is only named);
  - `meson setup` uses options meson_options.txt declares, in a directory no script makes
    (README's install after samples/run.sh once failed with "Directory already configured");
    `meson test --suite S` names a suite some meson.build declares.
Every problem is printed as FILE:LINE: command: what is wrong; the exit status is 1 if any."""

import os
import pathlib
import re
import shlex
import subprocess
import sys

root = pathlib.Path(sys.argv[1]).resolve()
build = pathlib.Path(sys.argv[2]).resolve()
pages = [root / "README.md"] + sorted((root / "docs").glob("*.md"))

# The build directories the docs use, and the script or page whose `meson setup` makes each.
made_by = {"build": "samples/run.sh", "build-tests": "tests/run.sh",
           "build-bench": "benchmarks/report"}
KINDS = ("samples", "benchmarks", "tests")


def setup_line(text):
    """The first `meson setup` command of a script, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    for line in joined.splitlines():
        if re.search(r"\bmeson setup\b", line):
            return line
    return ""


def kinds_built(setup):
    """Which of samples, benchmarks, tests a `meson setup` line builds (each is auto unless
    disabled; tests need doctest, which the test command installs)."""
    return {k for k in KINDS if f"-D{k}=disabled" not in setup}


dirs = {name: kinds_built(setup_line((root / script).read_text()))
        for name, script in made_by.items()}
# Directories the pages themselves make with `meson setup DIR ...` in a ```sh block.
for page in pages:
    for block in re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", page.read_text(), re.S | re.M):
        for m in re.finditer(r"\bmeson setup (build[\w-]*)([^\n&;]*)", re.sub(r"\\\n", " ", block)):
            dirs.setdefault(m.group(1), kinds_built(m.group(2)))

# Programs each kind declares: executable('name', ...) in its meson.build files.
declared = {k: set() for k in KINDS}
suites = set()
for kind in KINDS:
    for mb in (root / kind).rglob("meson.build"):
        text = mb.read_text()
        declared[kind] |= set(re.findall(r"executable\(\s*'([^']+)'", text))
        suites |= set(re.findall(r"suite:\s*'([^']+)'", text))
# Samples and benchmarks declared through a dict and foreach: the dict's keys.
declared["samples"] |= set(re.findall(r"^\s*'(\d\d_[a-z_]+)':", (root / "samples" /
                                                                 "meson.build").read_text(), re.M))
options = set(re.findall(r"option\('([^']+)'", (root / "meson_options.txt").read_text()))
# Meson's own options the docs may set.
options |= {"prefix", "buildtype", "b_sanitize", "optimization", "debug", "werror",
            "warning_level", "cpp_std", "default_library", "libdir", "includedir"}

problems = []
help_cache = {}


def flags_of(program):
    """The --flags a built colt program's --help lists (benchmarks/report's: its own and those
    of the binaries it runs); None when it is not built here."""
    if program in help_cache:
        return help_cache[program]
    flags = None
    candidates = [build / kind / program for kind in ("samples", "benchmarks")]
    if program == "benchmarks/report":
        candidates = [root / program, build / "benchmarks" / "collectives_inprocess"]
    for exe in candidates:
        if exe.is_file() and os.access(exe, os.X_OK):
            run = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=30)
            if run.returncode != 0:
                problems.append(f"{exe} --help exited with {run.returncode}")
            flags = (flags or set()) | set(re.findall(r"(--[a-z][a-z0-9_-]*)",
                                                      run.stdout + run.stderr))
    help_cache[program] = flags
    return flags


def check_flags(where, program, words, comment):
    flags = flags_of(program)
    if flags is None:
        return
    given = [w.split("=")[0] for w in words if w.startswith("--")]
    given += re.findall(r"(?<![\w-])(--[a-z][a-z0-9_-]*)", comment)
    for flag in given:
        # Google Benchmark's own flags, which the benchmarks' --help says they take.
        if flag.startswith("--benchmark_") and "--benchmark_" in " ".join(flags):
            continue
        if flag not in flags:
            problems.append(f"{where}: {program} has no {flag} (its --help lists "
                            f"{' '.join(sorted(flags))})")


def program_name(path):
    return pathlib.PurePosixPath(path).name


def check_build_path(where, path):
    """build*/KIND/PROGRAM...: made by a documented command, and built there."""
    parts = pathlib.PurePosixPath(path).parts
    if len(parts) == 1 and parts[0] in dirs:
        return None  # the directory itself
    if len(parts) == 2 and parts[0] in dirs and parts[1] in dirs[parts[0]]:
        return None  # the folder of its programs
    if len(parts) < 3 or parts[1] not in KINDS:
        problems.append(f"{where}: {path}: not a program of a build directory")
        return None
    if parts[0] not in dirs:
        problems.append(f"{where}: {path}: no documented command makes {parts[0]}/")
        return None
    if parts[1] not in dirs[parts[0]]:
        problems.append(f"{where}: {path}: {parts[0]}/ has no {parts[1]} (its `meson setup` "
                        f"in {made_by.get(parts[0], 'the docs')} disables them)")
        return None
    name = parts[-1]
    if parts[1] != "tests" and name not in declared[parts[1]]:
        problems.append(f"{where}: {path}: {parts[1]}/meson.build declares no {name}")
        return None
    return name


def check_command(where, words, comment):
    """One simple command: assignments, then a program and its arguments."""
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]
    while words and words[0] in ("do", "then", "else", "time", "exec"):
        words = words[1:]
    if not words or words[0] in ("for", "done", "wait", "fi", "cd", "export", "if"):
        return
    program, args = words[0], words[1:]
    if program in ("mpiexec.mpich", "mpiexec", "mpirun.openmpi", "mpirun", "compute-sanitizer"):
        # The launched program is the first argument that is a path or a colt program.
        for i, a in enumerate(args):
            if "/" in a or any(a in d for d in declared.values()):
                if program.startswith("mpi") and a.startswith("build") and \
                        "--transport" not in args and "samples" in a:
                    problems.append(f"{where}: a sample under {program} needs --transport mpi")
                check_command(where, args[i:], comment)
                return
        return
    if program == "meson":
        check_meson(where, args)
        return
    if program.startswith("./"):
        return  # the reader's own program
    if program.startswith("build"):
        name = check_build_path(where, program)
        if name:
            check_flags(where, name, args, comment)
        return
    if "/" in program:
        path = root / program
        if not path.exists():
            problems.append(f"{where}: {program} does not exist")
        elif not os.access(path, os.X_OK):
            problems.append(f"{where}: {program} is not executable")
        # Scripts that hand their flags to a program: check those flags against it.
        target = {"samples/run.sh": "02_data_parallel_trainer",
                  "benchmarks/report": "benchmarks/report"}.get(program)
        if target:
            words_left = [a for a in args if a != "--help"]
            if program == "benchmarks/report":
                words_left = [a for a in words_left if a.startswith("--")]
            check_flags(where, target, words_left, comment.replace("--help", ""))
        return
    if any(program in d for d in declared.values()):
        check_flags(where, program, args, comment)


def check_meson(where, args):
    if not args:
        return
    sub, rest = args[0], args[1:]
    if sub == "setup":
        positional = [a for a in rest if not a.startswith("-")]
        if positional and positional[0] in made_by:
            problems.append(f"{where}: `meson setup {positional[0]}` clashes with "
                            f"{made_by[positional[0]]}, which configures {positional[0]}/")
        for a in rest:
            m = re.match(r"^(?:-D|--)([a-z_]+)=", a)
            if m and m.group(1) not in options:
                problems.append(f"{where}: meson has no option {m.group(1)}")
    if sub == "test":
        for i, a in enumerate(rest):
            suite = a.split("=", 1)[1] if a.startswith("--suite=") else \
                rest[i + 1] if a == "--suite" and i + 1 < len(rest) else None
            if suite and suite not in suites:
                problems.append(f"{where}: no meson.build declares the test suite {suite}")


def split_commands(text):
    """Simple commands of a shell text: $(...) becomes one word, ; && || | & separate."""
    text = re.sub(r"\$\([^()]*\)", "SUBST", text)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = ""
    command = []
    try:
        for token in lexer:
            if token and set(token) <= set(";&|"):
                yield command
                command = []
            else:
                command.append(token)
    except ValueError as e:
        problems.append(f"cannot read as shell: {text!r} ({e})")
    yield command


def check_text(where, text):
    """A command with its comment: the comment may name the program's flags too."""
    code, _, comment = re.sub(r"\\\n", " ", text).partition(" #")
    commands = [c for c in split_commands(code) if c]
    for words in commands:
        check_command(where, words, comment if words is commands[-1] else "")


COMMAND_START = re.compile(r"^(?:[A-Z_]+=\S+\s+)*(?:build[\w-]*/|samples/|benchmarks/|tests/"
                           r"|\.ci/|mpiexec|mpirun|meson |compute-sanitizer |\d\d_[a-z_]+\b)")
counted = 0
for page in pages:
    name = page.relative_to(root)
    lines = page.read_text().splitlines()
    prose = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\S*)\s*$", lines[i])
        if not fence:
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        lang, start, body = fence.group(1), i + 1, []
        i += 1
        while i < len(lines) and not re.match(r"^```\s*$", lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        if lang in ("sh", "bash", "shell"):
            # Continuation lines and comment-only lines belong to the command above.
            text, first = "", start + 1
            for n, line in enumerate(body, start + 1):
                if text.endswith("\\") or (text and re.match(r"^\s+#", line)):
                    text += "\n" + line
                    continue
                if text.strip():
                    check_text(f"{name}:{first}", text)
                    counted += 1
                text, first = line, n
            if text.strip():
                check_text(f"{name}:{first}", text)
                counted += 1
        elif lang == "" and any(COMMAND_START.match(piece.strip()) for b in body
                                for piece in re.split(r";|&&|\bdo\b|\bthen\b", b)):
            problems.append(f"{name}:{start}: a command in a ``` block without a language: "
                            f"mark it ```sh so that this test checks it")
    # Inline code spans of the prose, which may wrap lines.
    text = "\n".join(line for _, line in prose)
    numbers = [n for n, _ in prose]
    for m in re.finditer(r"`([^`]+)`", text):
        span = m.group(1).replace("\n", " ")
        if COMMAND_START.match(span) and not re.match(r"^\S+\.(hpp|cpp|cu|cuh|md|py)\b", span):
            line = numbers[text.count("\n", 0, m.start())]
            check_text(f"{name}:{line}", span)
            counted += 1

for p in problems:
    print(p, file=sys.stderr)
print(f"{counted} commands in {len(pages)} pages: "
      + ("all check out" if not problems else f"{len(problems)} problems"))
sys.exit(1 if problems else 0)
