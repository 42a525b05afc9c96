package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.txfs.snapshot.Chunker;
import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.FileContents;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SmallFilesTest {
    private static final int MIN = Chunker.standard().minSize();

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 63, 64, 65, 4096, 16383, 16384, 16385, 100_000, 1_000_000})
    void write_whenAnySize_givesTheSameContentAsFileContents(int size) throws IOException {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        InMemoryObjectStore store = new InMemoryObjectStore();
        ObjectWriter w = store.newWriter();

        Content fast = SmallFiles.write(w, new ByteArrayInputStream(data));
        Content reference = FileContents.write(w, new ByteArrayInputStream(data));

        assertEquals(reference, fast);
        assertArrayEquals(data, FileContents.readAll(store, fast));
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 0, 1})
    void write_whenStreamReturnsShortReads_stillReadsEverything(int aroundMin) throws IOException {
        int size = MIN + aroundMin;
        byte[] data = new byte[size];
        new Random(7).nextBytes(data);
        InMemoryObjectStore store = new InMemoryObjectStore();
        ObjectWriter w = store.newWriter();
        ByteArrayInputStream trickle = new ByteArrayInputStream(data) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 1000));
            }
        };

        Content c = SmallFiles.write(w, trickle);

        assertEquals(size, c.size());
        assertArrayEquals(data, FileContents.readAll(store, c));
    }
}
