#!/bin/sh
# libforktop as its users get it: install the build into a temporary prefix
# (and once more under DESTDIR, which must stay clean), then build every
# program in examples/ from the INSTALLED files only, with pkg-config (shared,
# then static with --static) and with find_package(forktop) in a CMake
# project, run each and compare its output with examples/NAME.expected.  The
# shared library must export exactly the functions of the public header (the
# engine: core + mp), and carry the soname of the project's version.
# usage: install.sh SOURCE_DIR BUILD_DIR CC PROJECT_VERSION SHARED(ON|OFF) SANITIZE(ON|OFF)
set -eu
src=$(realpath "$1") build=$(realpath "$2") cc=$3 version=$4 shared=$5 sanitize=$6
fail=0
say() { echo "install: $*" >&2; fail=1; }
die() { echo "install: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case $sanitize in
ON | on | 1 | TRUE | true) san="-fsanitize=address,undefined" ;;
*) san="" ;;
esac
case $shared in
ON | on | 1 | TRUE | true) shared=1 ;;
*) shared=0 ;;
esac

# ---- install into a prefix other than the configured one
prefix=$tmp/p
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log" >&2
  die "cmake --install failed"
}
pc=$(find "$prefix" -name forktop.pc)
[ -n "$pc" ] || die "no forktop.pc under $prefix"
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
[ -f "$prefix/include/forktop/forktop.h" ] || say "no include/forktop/forktop.h"
[ -f "$libdir/libforktop.a" ] || say "no libforktop.a in $libdir"
[ "$shared" = 0 ] || [ -f "$libdir/libforktop.so" ] || say "no libforktop.so in $libdir"
[ -f "$libdir/cmake/forktop/forktopConfig.cmake" ] || say "no cmake/forktop/forktopConfig.cmake in $libdir"
[ -f "$prefix/share/bash-completion/completions/forktop" ] || say "no bash completion in share/bash-completion/completions"
[ -f "$prefix/share/man/man1/forktop.1" ] || say "no man page in share/man/man1"
pkg() { PKG_CONFIG_PATH=$pcdir pkg-config "$@"; }
# the .pc names where the files are, not where the build was configured to go
[ "$(pkg --variable=libdir forktop)" = "$libdir" ] ||
  say "forktop.pc's libdir is $(pkg --variable=libdir forktop), the library is in $libdir"
[ "$(pkg --variable=includedir forktop)" = "$prefix/include" ] ||
  say "forktop.pc's includedir is $(pkg --variable=includedir forktop), not $prefix/include"
[ "$(pkg --modversion forktop)" = "$version" ] || say "forktop.pc's version is not $version"

# ---- a DESTDIR install writes nothing outside DESTDIR and names the real prefix
dest=$tmp/dest real=$tmp/real-prefix
configured=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
touch "$tmp/stamp"
DESTDIR=$dest cmake --install "$build" --prefix "$real" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log" >&2
  die "DESTDIR install failed"
}
[ ! -e "$real" ] || say "a DESTDIR install wrote into the real prefix $real"
if [ -d "$configured" ]; then
  new=$(find "$configured" -newer "$tmp/stamp" 2>/dev/null | head -5)
  [ -z "$new" ] || say "a DESTDIR install wrote into the configured prefix: $new"
fi
stray=$(find "$dest" -type f | grep -v "^$dest$real/" || true)
[ -z "$stray" ] || say "a DESTDIR install wrote outside DESTDIR/PREFIX: $stray"
dpc=$(find "$dest" -name forktop.pc)
grep -qx "prefix=$real" "$dpc" || say "the DESTDIR forktop.pc does not say prefix=$real"
grep -q "$dest" "$dpc" && say "the DESTDIR forktop.pc names DESTDIR"

# ---- the shared library: soname from the version, only the header's functions
if [ "$shared" = 1 ]; then
  major=${version%%.*}
  minor=${version#*.}
  minor=${minor%%.*}
  if [ "$major" = 0 ]; then soname=libforktop.so.0.$minor; else soname=libforktop.so.$major; fi
  got=$(objdump -p "$libdir/libforktop.so" | awk '$1 == "SONAME" {print $2}')
  [ "$got" = "$soname" ] || say "soname is '$got', want $soname"
  [ -e "$libdir/$soname" ] || say "no $soname link in $libdir"
  nm -D --defined-only "$libdir/libforktop.so" | awk '{print $NF}' | sort -u >"$tmp/exported"
  # declarations: a line starting with the return type, naming ft_something(
  grep -E '^[a-z].*[ *]ft_[a-z0-9_]+\(' "$prefix/include/forktop/forktop.h" |
    sed -E 's/^[^(]*[ *](ft_[a-z0-9_]+)\(.*/\1/' | sort -u >"$tmp/declared"
  extra=$(comm -23 "$tmp/exported" "$tmp/declared")
  [ -z "$extra" ] || say "libforktop.so exports what the header does not declare: $(echo "$extra" | tr "\n" " ")"
  missing=$(comm -13 "$tmp/exported" "$tmp/declared")
  [ -z "$missing" ] || say "the header declares what libforktop.so does not export: $(echo "$missing" | tr "\n" " ")"
  [ -s "$tmp/exported" ] || say "libforktop.so exports nothing"
fi

# ---- FT_VERSION in the header is the project's version
printf '#include <forktop/forktop.h>\n#include <stdio.h>\nint main(void) { puts(FT_VERSION); return 0; }\n' >"$tmp/v.c"
# shellcheck disable=SC2046
$cc $san "$tmp/v.c" $(pkg --cflags forktop) -o "$tmp/v" || die "cannot compile against <forktop/forktop.h>"
[ "$("$tmp/v")" = "$version" ] || say "FT_VERSION is $("$tmp/v"), the project is $version"

# run NAME BINARY HOW: run an example, compare with examples/NAME.expected
run() {
  out=$tmp/$1.$3.out
  if ! LD_LIBRARY_PATH=$libdir timeout 60 "$2" >"$out" 2>"$out.err"; then
    say "$1 ($3) failed: $(cat "$out.err")"
    return
  fi
  sed -E 's/(pid|ppid)=[0-9]+/\1=N/g' "$out" >"$out.n"
  diff -u "$src/examples/$1.expected" "$out.n" >"$out.diff" || say "$1 ($3) printed other than expected:
$(cat "$out.diff")"
}

# ---- every example, with pkg-config only: shared, then static
mkdir "$tmp/bin"
n=0
for c in "$src"/examples/*.c; do
  name=$(basename "$c" .c)
  [ -f "$src/examples/$name.expected" ] || say "examples/$name.c has no $name.expected"
  n=$((n + 1))
  # shellcheck disable=SC2046
  if $cc -Wall -Wextra -Werror $san "$c" $(pkg --cflags --libs forktop) -o "$tmp/bin/$name"; then
    run "$name" "$tmp/bin/$name" pkg-config
    if [ "$shared" = 1 ]; then
      LD_LIBRARY_PATH=$libdir ldd "$tmp/bin/$name" | grep -q "=> $libdir/libforktop.so" ||
        say "$name is not linked with the installed libforktop.so"
    fi
  else
    say "examples/$name.c does not build with pkg-config --cflags --libs forktop"
  fi
  # the static library: libforktop.a and what pkg-config --static adds
  libs=$(pkg --static --libs forktop | sed 's/ *-lforktop */ -Wl,-Bstatic -lforktop -Wl,-Bdynamic /')
  # shellcheck disable=SC2086,SC2046
  if $cc -Wall -Wextra -Werror $san "$c" $(pkg --cflags forktop) $libs -o "$tmp/bin/$name.static"; then
    readelf -d "$tmp/bin/$name.static" | grep -q 'NEEDED.*libforktop' &&
      say "$name.static needs libforktop.so"
    run "$name" "$tmp/bin/$name.static" "pkg-config --static"
  else
    say "examples/$name.c does not build with pkg-config --static"
  fi
done
[ "$n" -ge 8 ] || say "only $n examples in examples/"

# ---- the CMake package: find_package(forktop), forktop::forktop and _static
for kind in shared static; do
  st=OFF
  [ "$kind" = static ] && st=ON
  bd=$tmp/cmake-$kind
  if cmake -S "$src/examples" -B "$bd" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror $san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
    -DFT_EXAMPLES_STATIC=$st >"$tmp/cmake.log" 2>&1 &&
    cmake --build "$bd" --target map1000 >>"$tmp/cmake.log" 2>&1; then
    run map1000 "$bd/map1000" "find_package, $kind"
  else
    say "examples/CMakeLists.txt ($kind) does not build: $(tail -20 "$tmp/cmake.log")"
  fi
done

[ "$fail" = 0 ] && echo "install: $n examples built and ran from the installed library (pkg-config, --static, find_package)"
exit "$fail"
