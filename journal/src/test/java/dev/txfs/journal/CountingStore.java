package dev.txfs.journal;

import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.RefStore;
import java.util.Optional;
import java.util.function.Consumer;

/** Counts the objects read through it, and through the writers it makes. */
final class CountingStore implements ObjectStore {
    private final ObjectStore delegate;
    int reads;

    CountingStore(ObjectStore delegate) {
        this.delegate = delegate;
    }

    @Override
    public Optional<byte[]> find(ObjectId id) {
        reads++;
        return delegate.find(id);
    }

    @Override
    public boolean contains(ObjectId id) {
        reads++;
        return delegate.contains(id);
    }

    @Override
    public ObjectWriter newWriter() {
        ObjectWriter w = delegate.newWriter();
        return new ObjectWriter() {
            @Override
            public ObjectId put(byte[] canonical) {
                return w.put(canonical);
            }

            @Override
            public Optional<byte[]> find(ObjectId id) {
                reads++;
                return w.find(id);
            }

            @Override
            public void flush() {
                w.flush();
            }

            @Override
            public boolean flushAndSet(java.util.List<RefStore.Update> updates) {
                return w.flushAndSet(updates);
            }

            @Override
            public void close() {
                w.close();
            }
        };
    }

    @Override
    public RefStore refs() {
        return delegate.refs();
    }

    @Override
    public void forEachId(Consumer<ObjectId> action) {
        throw new AssertionError("a diff must not list the store");
    }

    @Override
    public long delete(java.util.Collection<ObjectId> ids) {
        return delegate.delete(ids);
    }

    @Override
    public java.util.Set<ObjectId> shallow() {
        return delegate.shallow();
    }

    @Override
    public void addShallow(java.util.Collection<ObjectId> ids) {
        delegate.addShallow(ids);
    }

    @Override
    public StoreStats stats() {
        return delegate.stats();
    }

    @Override
    public void close() {}
}
