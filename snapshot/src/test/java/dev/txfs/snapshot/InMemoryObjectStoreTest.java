package dev.txfs.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

/** The contract on the heap store, plus its test hooks. */
final class InMemoryObjectStoreTest extends ObjectStoreContractTest {
    @Override
    protected ObjectStore newStore() {
        return new InMemoryObjectStore();
    }

    @Test
    void corruptAndRemove_changeWhatFindReturns() {
        InMemoryObjectStore mem = (InMemoryObjectStore) store;
        ObjectId id = putAndClose(chunk(1, 100));
        byte[] other = chunk(2, 100);
        mem.corrupt(id, other);
        assertArrayEquals(other, mem.get(id));
        mem.remove(id);
        assertFalse(mem.contains(id));
    }
}
