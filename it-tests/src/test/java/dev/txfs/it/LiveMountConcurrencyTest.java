package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Parallel processes on one live mount: writers in different files, and many readers of a file
 * another process appends to. Everything runs under timeouts: a hang fails the test. Run: {@code
 * mvn -o -pl it-tests verify -Dtxfs.it.skip=false -Dtest=LiveMountConcurrencyTest}.
 */
class LiveMountConcurrencyTest extends LiveMountBase {
    private static final Duration LIMIT = Duration.ofMinutes(2);

    @Test
    void writers_whenTwoShellsWriteDifferentFilesInParallel_bothSetsAreIntact() {
        Path d = dir("writers");
        long t0 = System.nanoTime();
        String out = bash(LIMIT, """
                        cd "$1"
                        writer() {
                          mkdir "$1"
                          for i in $(seq 300); do
                            head -c $(( (i * 7919) % 200000 )) /dev/urandom > "$1/f$i"
                            [ $((i % 50)) -eq 0 ] && mv "$1/f$i" "$1/renamed$i"
                          done
                          (cd "$1" && sha256sum * > ../"$1".sums)
                        }
                        timeout 90 bash -c "$(declare -f writer); writer a" & pa=$!
                        timeout 90 bash -c "$(declare -f writer); writer b" & pb=$!
                        wait $pa; wait $pb
                        echo 3 > /proc/sys/vm/drop_caches
                        (cd a && sha256sum -c --quiet ../a.sums) && echo a-ok
                        (cd b && sha256sum -c --quiet ../b.sums) && echo b-ok
                        ls a | wc -l; ls b | wc -l
                        """, d.toString()).ok().out();
        System.out.printf("[live concurrency] two writers, 600 files: %.2f s%n", (System.nanoTime() - t0) / 1e9);
        assertEquals("a-ok\nb-ok\n300\n300\n", out);
    }

    @Test
    void readers_whenTwoHundredCatsRunWhileAnotherProcessAppends_allSucceedAndSeePrefixes() {
        Path d = dir("readers");
        long t0 = System.nanoTime();
        String out = bash(LIMIT, """
                        cd "$1"
                        seq 1 20000 > log
                        timeout 60 bash -c 'for i in $(seq 20001 24000); do echo $i >> log; done' &
                        appender=$!
                        mkdir out
                        for i in $(seq 200); do
                          timeout 60 cat log > out/$i || echo "cat $i failed: $?" &
                        done
                        wait $appender
                        wait
                        seq 1 24000 > expected
                        cmp log expected && echo final-ok
                        bad=0
                        for f in out/*; do
                          n=$(stat -c %s "$f")
                          cmp -s -n "$n" "$f" expected || { echo "not a prefix: $f"; bad=1; }
                          [ "$n" -ge 108894 ] || { echo "too short: $f $n"; bad=1; }
                        done
                        [ $bad = 0 ] && echo prefixes-ok
                        ls out | wc -l
                        """, d.toString()).ok().out();
        System.out.printf("[live concurrency] 200 cats during appends: %.2f s%n", (System.nanoTime() - t0) / 1e9);
        assertEquals("final-ok\nprefixes-ok\n200\n", out);
    }

    /** O_APPEND offsets are the kernel's: two appenders never overwrite each other's lines. */
    @Test
    void appenders_whenTwoShellsAppendToOneFile_everyLineArrivesWhole() {
        Path d = dir("appenders");
        String out = bash(LIMIT, """
                        cd "$1"
                        timeout 60 bash -c 'for i in $(seq 3000); do echo "first writer line $i" >> log; done' & p1=$!
                        timeout 60 bash -c 'for i in $(seq 3000); do echo "second writer line $i" >> log; done' & p2=$!
                        wait $p1; wait $p2
                        wc -l < log
                        grep -c '^first writer line [0-9]*$' log
                        grep -c '^second writer line [0-9]*$' log
                        grep '^first' log | sort -k4n | cut -d' ' -f4 | cmp - <(seq 3000) && echo ordered
                        """, d.toString()).ok().out();
        assertEquals("6000\n3000\n3000\nordered\n", out);
    }

    @Test
    void readersAndWriter_whenPythonThreadsHammerOneFile_noErrorsAndFinalContentRight() {
        Path d = dir("threads");
        String out = py(LIMIT, d, """
                        import os, threading
                        open('f', 'wb').write(b'\\0' * (1 << 20))
                        errors = []
                        def writer(k):
                            try:
                                fd = os.open('f', os.O_WRONLY)
                                for i in range(200):
                                    os.pwrite(fd, bytes([k]) * 4096, (k * 64 + i % 64) * 4096)
                                os.fsync(fd)
                                os.close(fd)
                            except Exception as e:
                                errors.append(e)
                        def reader():
                            try:
                                for i in range(50):
                                    with open('f', 'rb') as g:
                                        if len(g.read()) != 1 << 20:
                                            errors.append('short read')
                                    os.stat('f'); os.listdir('.')
                            except Exception as e:
                                errors.append(e)
                        ts = [threading.Thread(target=writer, args=(k,)) for k in range(1, 4)]
                        ts += [threading.Thread(target=reader) for _ in range(4)]
                        [t.start() for t in ts]; [t.join(60) for t in ts]
                        print(errors, any(t.is_alive() for t in ts))
                        data = open('f', 'rb').read()
                        print(all(data[k * 64 * 4096:(k + 1) * 64 * 4096] == bytes([k]) * (64 * 4096) for k in range(1, 4)))
                        """).ok().out();
        assertEquals("[] False\nTrue\n", out);
    }
}
