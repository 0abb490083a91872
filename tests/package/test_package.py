#!/usr/bin/python3
"""uptls as its users get it: installed, found, linked.

1. Builds uptls (static, then shared) with only what a package needs,
   checks that `--target uptls` builds the library, installs it into a
   prefix and checks what was installed (headers with the generated
   version.hpp, the CMake package, uptls.pc, the versioned shared library,
   the uptls command).
2. Builds tests/package/consumer against each prefix with
   find_package(uptls CONFIG) and with a plain g++ command from
   `pkg-config --cflags --libs uptls` (and clang++ for the static one), and
   runs it.
3. Makes the Debian packages (uptls, libuptls0, libuptls-dev) from the
   shared build, checks what each holds and depends on, and builds the
   consumer from the unpacked libuptls0 and libuptls-dev.
4. Adds uptls to the consumer as a FetchContent subproject of the source
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
        check(os.path.isfile(os.path.join(libdir, "libuptls.a")),
              "a shared build does not install libuptls.a beside libuptls.so")
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
    # The installed command runs, and needs no libuptls: it links the archive.
    command = os.path.join(prefix, "bin", "uptls")
    check("libuptls" not in run(["readelf", "-d", command]),
          "the uptls command needs libuptls at run time")
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
    """A plain compiler command from `pkg-config --cflags --libs uptls`, as
    is, with g++ and (a static build, where the flags cannot name Clang's
    Asio macros) clang++."""
    args = builder.args
    env = dict(builder.env, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
    check(run(["pkg-config", "--modversion", "uptls"], env=env).strip() == args.version,
          "pkg-config --modversion uptls is not " + args.version)
    pkg_flags = run(["pkg-config", "--cflags", "--libs", "uptls"], env=env).split()
    compilers = [os.environ.get("CXX", "g++")]
    if variant == "static" and shutil.which("clang++-14"):
        compilers.append("clang++-14")
    run_env = dict(builder.env)
    if variant == "shared":
        run_env["LD_LIBRARY_PATH"] = libdir
    for compiler in compilers:
        program = os.path.join(args.work, f"{variant}-consumer-pkg-config-{compiler}")
        run([compiler, "-std=c++20", os.path.join(args.source, "tests/package/consumer/main.cpp"),
             "-o", program] + pkg_flags, env=env)
        check_consumer_output(run([program], env=run_env), args.version,
                              f"{variant}, pkg-config, {compiler}")


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


def deb_field(deb, field):
    info = run(["dpkg-deb", "--field", deb, field])
    return info.strip()


def check_debian_packages(builder):
    """`cpack -G DEB` in the shared build, configured for /usr: uptls (the
    command, needing no libuptls), libuptls0 (the shared library in the
    multiarch directory) and libuptls-dev (headers, libuptls.so, libuptls.a,
    the CMake package, uptls.pc), each depending on what it needs; a program
    builds from the unpacked libuptls0 and libuptls-dev alone, linked shared
    and static."""
    args = builder.args
    build = os.path.join(args.work, "shared-build")
    builder.configure(args.source, build, ["-DCMAKE_INSTALL_PREFIX=/usr"])
    run(["cpack", "-G", "DEB"], env=builder.env, cwd=build)
    multiarch = run(["gcc", "-print-multiarch"]).strip()
    libdir = f"./usr/lib/{multiarch}"
    debs = {}
    for name in ["uptls", "libuptls0", "libuptls-dev"]:
        found = glob.glob(os.path.join(build, f"{name}_{args.version}_*.deb"))
        check(len(found) == 1, f"cpack made no {name}_{args.version}_*.deb in {build}")
        debs[name] = found[0]
    contents = {name: run(["dpkg-deb", "--contents", deb]) for name, deb in debs.items()}
    wanted = {
        "uptls": ["./usr/bin/uptls"],
        "libuptls0": [f"{libdir}/libuptls.so.{args.version}", f"{libdir}/libuptls.so.0"],
        "libuptls-dev": ["./usr/include/uptls/stream.hpp", "./usr/include/uptls/version.hpp",
                         f"{libdir}/libuptls.so ", f"{libdir}/libuptls.a",
                         f"{libdir}/cmake/uptls/uptlsConfig.cmake",
                         f"{libdir}/pkgconfig/uptls.pc"],
    }
    for name, paths in wanted.items():
        for path in paths:
            check(path in contents[name], f"{name} does not hold {path}")
    check("/include/" not in contents["libuptls0"] and "/bin/" not in contents["libuptls0"],
          "libuptls0 holds more than the shared library")
    command_depends = deb_field(debs["uptls"], "Depends")
    check("libssl3" in command_depends and "libuptls" not in command_depends,
          f"uptls should depend on libssl3 and not on libuptls0: {command_depends!r}")
    check("libssl3" in deb_field(debs["libuptls0"], "Depends"), "libuptls0 does not need libssl3")
    dev_depends = deb_field(debs["libuptls-dev"], "Depends")
    for needed in [f"libuptls0 (= {args.version})", "libssl-dev", "libasio-dev"]:
        check(needed in dev_depends, f"libuptls-dev does not depend on {needed}: {dev_depends!r}")
    check(deb_field(debs["libuptls0"], "Section") == "libs", "libuptls0 is not in section libs")

    root = os.path.join(args.work, "deb-root")
    for deb in debs.values():
        run(["dpkg-deb", "--extract", deb, root])
    output = run([os.path.join(root, "usr/bin/uptls"), "--version"])
    check(output.startswith(f"uptls {args.version}\n"),
          f"the packaged uptls --version printed {output!r}")
    libraries = os.path.join(root, "usr/lib", multiarch)
    env = dict(builder.env, PKG_CONFIG_PATH=os.path.join(libraries, "pkgconfig"))
    for linking in [[], ["--static"]]:
        flags = run(["pkg-config", "--cflags", "--libs", *linking, "uptls"], env=env).split()
        if linking:
            flags = ["-l:libuptls.a" if flag == "-luptls" else flag for flag in flags]
        program = os.path.join(args.work, "deb-consumer" + "-static" * bool(linking))
        run(["g++", "-std=c++20", os.path.join(args.source, "tests/package/consumer/main.cpp"),
             "-o", program] + flags, env=env)
        needs = run(["readelf", "-d", program])
        check(("libuptls.so" in needs) != bool(linking),
              f"the {'static' if linking else 'shared'} consumer links libuptls the wrong way")
        check_consumer_output(run([program], env=dict(builder.env, LD_LIBRARY_PATH=libraries)),
                              args.version, "the Debian packages" + " (static)" * bool(linking))


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
        check_debian_packages(builder)
        consume_as_subproject(builder)
    except Failure as failure:
        print(f"test_package: FAILED: {failure}")
        return 1
    print("test_package: passed: static and shared installs, find_package, pkg-config, "
          "the Debian packages, FetchContent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
