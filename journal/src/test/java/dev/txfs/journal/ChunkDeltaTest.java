package dev.txfs.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.journal.DeltaReader.DeltaException;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link ChunkDelta}: operations rebuild the target exactly, are small for small edits, and bad ones are refused. */
final class ChunkDeltaTest {
    @Test
    void encodeThenApply_givesTheTarget_forRandomEdits() {
        Random rnd = new Random(11);
        for (int n = 0; n < 300; n++) {
            byte[] base = new byte[rnd.nextInt(100_000)];
            rnd.nextBytes(base);
            byte[] target = edit(base, rnd);
            byte[] ops = ChunkDelta.encode(base, target);
            assertArrayEquals(target, ChunkDelta.apply(base, ops, target.length, "t"), "case " + n);
        }
    }

    @Test
    void fourBytesOverwritten_costsAFewDozenBytes() {
        byte[] base = DeltaFixture.bytes(65_536, 3);
        byte[] target = base.clone();
        System.arraycopy(new byte[] {'A', 'B', 'C', 'D'}, 0, target, 30_000, 4);
        byte[] ops = ChunkDelta.encode(base, target);
        assertTrue(ops.length < 40, "ops: " + ops.length);
        assertArrayEquals(target, ChunkDelta.apply(base, ops, target.length, "t"));
    }

    @Test
    void apply_badOperations_areMalformed() {
        byte[] base = {1, 2, 3, 4};
        byte[][] bad = {
            {1, 2, 3}, // copy past the end of the base
            {0, 5, 9, 9}, // insert longer than what follows
            {0, 0}, // empty insert
            {2}, // unknown operation
            {1, (byte) 0x80}, // number cut short
            {1, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1}, // number over 5 bytes
            {1, 0, 2}, // gives 2 bytes, not 4
            {1, 0, 4, 0, 1, 7}, // gives 5 bytes, not 4
        };
        for (byte[] ops : bad) {
            DeltaException e =
                    assertThrows(DeltaException.class, () -> ChunkDelta.apply(base, ops, 4, "x"), Arrays.toString(ops));
            assertEquals(DeltaReader.Problem.MALFORMED, e.problem());
        }
        assertArrayEquals(base, ChunkDelta.apply(base, new byte[] {1, 0, 4}, 4, "x"));
    }

    /** A few overwrites, inserts and deletes of random sizes. */
    private static byte[] edit(byte[] base, Random rnd) {
        byte[] t = base.clone();
        for (int k = rnd.nextInt(5); k > 0 && t.length > 0; k--) {
            int at = rnd.nextInt(t.length);
            int len = Math.min(t.length - at, rnd.nextInt(2000));
            byte[] ins = new byte[rnd.nextInt(2000)];
            rnd.nextBytes(ins);
            switch (rnd.nextInt(3)) {
                case 0 -> System.arraycopy(ins, 0, t, at, Math.min(ins.length, t.length - at));
                case 1 -> t = splice(t, at, 0, ins);
                default -> t = splice(t, at, len, new byte[0]);
            }
        }
        return t;
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] ins) {
        byte[] c = new byte[b.length - remove + ins.length];
        System.arraycopy(b, 0, c, 0, at);
        System.arraycopy(ins, 0, c, at, ins.length);
        System.arraycopy(b, at + remove, c, at + ins.length, b.length - at - remove);
        return c;
    }
}
