#!/usr/bin/python3
"""uptls as its users get it: installed, found, linked.

1. Builds uptls (static, then shared) with only what a package needs,
   checks that `--target uptls` builds the library, installs it into a
   prefix and checks what was installed (headers with the generated
   version.hpp, the CMake package, uptls.pc, the versioned shared library,
   the uptls command).
2. Builds tests/package/consumer against each prefix with
   find_package(uptls CONFIG) and with a plain g++ command from
   `pkg-config --cflags --libs uptls`, and runs it.
3. Adds uptls to the consumer as a FetchContent subproject of the source
   tree: it must configure with GoogleTest and CLI11 out of reach, and build
   the library alone.

Every consumer program must print the uptls version. Exit 0 only if every
step held; the first failure prints its command and output and exits 1.

Environment: UPTLS_PACKAGE_JOBS (parallel build jobs, default 2). ccache is
used when installed.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time

# Both variants build the library and the uptls command; the shared one
# also checks what libuptls.so exports.
VARIANTS = {
    "static": ["-DBUILD_SHARED_LIBS=OFF", "-DUPTLS_BUILD_TOOLS=ON"],
    "shared": ["-DBUILD_SHARED_LIBS=ON", "-DUPTLS_BUILD_TOOLS=ON"],
}


class Failure(Exception):
    pass


def log(message):
    print(f"[package] {message}", flush=True)


def run(command, env=None, cwd=None, expect_failure=False):
    """Runs a command; returns its output. Fails unless it exits as expected."""
    started = time.monotonic()
    result = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seconds = time.monotonic() - started
    shown = " ".join(command)
    if (result.returncode != 0) != expect_failure:
        print(result.stdout, end="")
        raise Failure(f"`{shown}` exited {result.returncode}"
                      + (" (a failure was expected)" if expect_failure else ""))
    log(f"{shown}  ({seconds:.0f} s)")
    return result.stdout


def check(condition, message):
    if not condition:
        raise Failure(message)


class Builder:
    def __init__(self, args):
        self.args = args
        self.jobs = os.environ.get("UPTLS_PACKAGE_JOBS", "2")
        self.env = dict(os.environ)
        self.common = ["-G", args.generator, "-DCMAKE_BUILD_TYPE=None"]
        if shutil.which("ccache"):
            self.common.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
            # Relative paths in the cache key, so later runs hit.
            self.env.setdefault("CCACHE_BASEDIR",
                                os.path.commonpath([args.source, args.work]))

    def configure(self, source, build, options):
        return run([self.args.cmake, "-S", source, "-B", build] + self.common + options,
                   env=self.env)

    def build(self, build, target=None, expect_failure=False):
        command = [self.args.cmake, "--build", build, "--parallel", self.jobs]
        if target:
            command += ["--target", target]
        return run(command, env=self.env, expect_failure=expect_failure)


def executables_named(directory, name):
    return [os.path.join(root, name) for root, _, files in os.walk(directory)
            if name in files and os.access(os.path.join(root, name), os.X_OK)]


def check_consumer_output(output, version, how):
    check(f"uptls {version} (headers {version})" in output and "OpenSSL 3." in output,
          f"consumer ({how}) did not print uptls {version} and OpenSSL 3: {output!r}")


def build_and_install(builder, variant):
    args = builder.args
    build = os.path.join(args.work, f"{variant}-build")
    prefix = os.path.join(args.work, f"{variant}-prefix")
    builder.configure(args.source, build, VARIANTS[variant] + [
        f"-DCMAKE_INSTALL_PREFIX={prefix}", "-DUPTLS_BUILD_TESTS=OFF",
        "-DUPTLS_BUILD_EXAMPLES=OFF", "-DUPTLS_BUILD_BENCH=OFF"])

    # `--target uptls` is the library, never the command of the same name.
    builder.build(build, target="uptls")
    library = "libuptls.so" if variant == "shared" else "libuptls.a"
    check(os.path.exists(os.path.join(build, library)),
          f"--target uptls did not build {library}")
    check(not executables_named(build, "uptls"), "--target uptls built the uptls command")

    builder.build(build)
    run([args.cmake, "--install", build], env=builder.env)

    pc_files = glob.glob(os.path.join(prefix, "lib*", "pkgconfig", "uptls.pc"))
    check(len(pc_files) == 1, f"uptls.pc not installed under {prefix}/lib*/pkgconfig")
    libdir = os.path.dirname(os.path.dirname(pc_files[0]))
    for path in ["include/uptls/uptls.hpp", "include/uptls/version.hpp",
                 "include/uptls/export.hpp", "include/uptls/tls/config.hpp"]:
        check(os.path.isfile(os.path.join(prefix, path)), f"{path} not installed")
    for name in ["uptlsConfig.cmake", "uptlsConfigVersion.cmake", "uptlsTargets.cmake"]:
        check(os.path.isfile(os.path.join(libdir, "cmake", "uptls", name)),
              f"{name} not installed in {libdir}/cmake/uptls")
    with open(os.path.join(prefix, "include/uptls/version.hpp")) as header:
        check(f'#define UPTLS_VERSION_STRING "{args.version}"' in header.read(),
              "the installed version.hpp does not say " + args.version)

    if variant == "shared":
        major = args.version.split(".")[0]
        real = os.path.join(libdir, f"libuptls.so.{args.version}")
        check(os.path.isfile(real), f"{real} not installed")
        for link in [f"libuptls.so.{major}", "libuptls.so"]:
            check(os.path.islink(os.path.join(libdir, link)), f"{link} is not a symbolic link")
        dynamic = run(["readelf", "-d", real])
        check(f"[libuptls.so.{major}]" in dynamic, f"the soname is not libuptls.so.{major}")
        symbols = run(["nm", "-D", "--defined-only", "-C", real]).splitlines()
        names = [line.split(" ", 2)[2] for line in symbols if line.count(" ") >= 2]
        ours = [name for name in names if "uptls::" in name]
        for wanted in ["uptls::version()", "uptls::Stream::read_line",
                       "uptls::start_server(", "uptls::tcp_transport("]:
            check(any(name.startswith(wanted) for name in ours), f"{wanted} is not exported")
        log(f"libuptls.so exports {len(names)} symbols, {len(names) - len(ours)} "
            "of them outside namespace uptls")
    else:
        check(os.path.isfile(os.path.join(libdir, "libuptls.a")), "libuptls.a not installed")
    # The installed command runs (the shared one finds libuptls.so through its rpath).
    command = os.path.join(prefix, "bin", "uptls")
    output = run([command, "--version"])
    check(output.startswith(f"uptls {args.version}\n") and "OpenSSL 3." in output,
          f"`uptls --version` printed {output!r}")
    return prefix, libdir


def consume_with_cmake(builder, variant, prefix):
    args = builder.args
    build = os.path.join(args.work, f"{variant}-consumer-cmake")
    builder.configure(os.path.join(args.source, "tests/package/consumer"), build,
                      [f"-DCMAKE_PREFIX_PATH={prefix}"])
    builder.build(build)
    check_consumer_output(run([os.path.join(build, "consumer")]), args.version,
                          f"{variant}, find_package")


def consume_with_pkg_config(builder, variant, prefix, libdir):
    args = builder.args
    env = dict(builder.env, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
    check(run(["pkg-config", "--modversion", "uptls"], env=env).strip() == args.version,
          "pkg-config --modversion uptls is not " + args.version)
    flags = ["--cflags", "--libs"] + (["--static"] if variant == "static" else [])
    pkg_flags = run(["pkg-config"] + flags + ["uptls"], env=env).split()
    program = os.path.join(args.work, f"{variant}-consumer-pkg-config")
    compiler = os.environ.get("CXX", "g++")
    run([compiler, "-std=c++20", os.path.join(args.source, "tests/package/consumer/main.cpp"),
         "-o", program] + pkg_flags, env=env)
    run_env = dict(builder.env)
    if variant == "shared":
        run_env["LD_LIBRARY_PATH"] = libdir
    check_consumer_output(run([program], env=run_env), args.version,
                          f"{variant}, pkg-config")


def consume_as_subproject(builder):
    args = builder.args
    build = os.path.join(args.work, "consumer-fetchcontent")
    # A REQUIRED find_package of either is then a configure error.
    builder.configure(os.path.join(args.source, "tests/package/consumer"), build, [
        f"-DCONSUMER_UPTLS_SOURCE={args.source}", "-DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON",
        "-DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON"])
    with open(os.path.join(build, "CMakeCache.txt")) as cache:
        entries = cache.read()
    for entry in ["GTest_DIR", "CLI11_DIR"]:
        check(entry + ":" not in entries, f"the subproject looked for {entry[:-4]}")
    for option in ["UPTLS_BUILD_TESTS", "UPTLS_BUILD_TOOLS", "UPTLS_BUILD_EXAMPLES",
                   "UPTLS_BUILD_BENCH", "UPTLS_INSTALL"]:
        check(f"{option}:BOOL=OFF" in entries, f"{option} is not OFF in a subproject")
    builder.build(build)
    check(glob.glob(os.path.join(build, "_deps", "uptls-build", "libuptls.*")),
          "the subproject did not build libuptls")
    for name in ["uptls", "uptls_unit_tests", "pingpong_server", "uptls_bench"]:
        check(not executables_named(build, name), f"the subproject built {name}")
    builder.build(build, target="uptls_cli", expect_failure=True)
    check_consumer_output(run([os.path.join(build, "consumer")]), args.version,
                          "FetchContent")


def check_debian_package(builder, variant):
    """`cpack -G DEB` in the variant's build: the package holds the library,
    headers, CMake package, uptls.pc and the command, depends on what it
    needs, and its command runs from the unpacked tree."""
    build = os.path.join(builder.args.work, f"{variant}-build")
    run(["cpack", "-G", "DEB"], env=builder.env, cwd=build)
    debs = glob.glob(os.path.join(build, f"uptls_{builder.args.version}_*.deb"))
    check(len(debs) == 1, f"cpack made no uptls_{builder.args.version}_*.deb in {build}")
    info = run(["dpkg-deb", "--info", debs[0]])
    depends = next((line for line in info.splitlines() if line.strip().startswith("Depends:")), "")
    for needed in ["libssl", "libasio-dev"]:
        check(needed in depends, f"the package does not depend on {needed}: {depends!r}")
    contents = run(["dpkg-deb", "--contents", debs[0]])
    for path in ["./usr/bin/uptls", "./usr/include/uptls/stream.hpp",
                 "./usr/include/uptls/version.hpp", "/cmake/uptls/uptlsConfig.cmake",
                 "/pkgconfig/uptls.pc"]:
        check(path in contents, f"the package does not hold {path}")
    root = os.path.join(builder.args.work, f"{variant}-deb-root")
    run(["dpkg-deb", "--extract", debs[0], root])
    output = run([os.path.join(root, "usr/bin/uptls"), "--version"])
    check(output.startswith(f"uptls {builder.args.version}\n"),
          f"the packaged uptls --version printed {output!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="the uptls source tree")
    parser.add_argument("--work", required=True, help="a directory to build in (emptied)")
    parser.add_argument("--version", required=True, help="the version uptls must report")
    parser.add_argument("--cmake", default="cmake")
    parser.add_argument("--generator", default="Ninja" if shutil.which("ninja") else "Unix Makefiles")
    args = parser.parse_args()
    args.source = os.path.abspath(args.source)
    args.work = os.path.abspath(args.work)

    for tool in ["pkg-config", "readelf", "nm", "cpack", "dpkg-deb"]:
        if not shutil.which(tool):
            print(f"test_package: {tool} is missing (Debian: pkg-config, binutils)")
            return 1
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    builder = Builder(args)
    try:
        for variant in VARIANTS:
            prefix, libdir = build_and_install(builder, variant)
            consume_with_cmake(builder, variant, prefix)
            consume_with_pkg_config(builder, variant, prefix, libdir)
        check_debian_package(builder, "static")
        consume_as_subproject(builder)
    except Failure as failure:
        print(f"test_package: FAILED: {failure}")
        return 1
    print("test_package: passed: static and shared installs, find_package, pkg-config, "
          "the Debian package, FetchContent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
