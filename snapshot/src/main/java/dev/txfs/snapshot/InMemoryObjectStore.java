package dev.txfs.snapshot;

import java.util.ArrayList;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Consumer;

/** An object store in the heap, for tests and tools that need no persistence. */
public final class InMemoryObjectStore implements ObjectStore, RefStore {
    private final ConcurrentSkipListMap<ObjectId, byte[]> objects = new ConcurrentSkipListMap<>();
    private final Map<String, ObjectId> refs = new ConcurrentHashMap<>();
    private final Map<String, byte[]> values = new ConcurrentHashMap<>();
    private final java.util.Set<ObjectId> shallow = new java.util.concurrent.ConcurrentSkipListSet<>();

    @Override
    public Optional<byte[]> find(ObjectId id) {
        return Optional.ofNullable(objects.get(id)).map(byte[]::clone);
    }

    @Override
    public boolean contains(ObjectId id) {
        return objects.containsKey(id);
    }

    /** Replaces an object's bytes without re-hashing: how tests damage a store. */
    public void corrupt(ObjectId id, byte[] bytes) {
        objects.put(id, bytes.clone());
    }

    public void remove(ObjectId id) {
        objects.remove(id);
    }

    @Override
    public ObjectWriter newWriter() {
        return new ObjectWriter() {
            @Override
            public ObjectId put(byte[] canonical) {
                ObjectId id = ObjectId.hash(canonical);
                objects.putIfAbsent(id, canonical.clone());
                return id;
            }

            @Override
            public Optional<byte[]> find(ObjectId id) {
                return InMemoryObjectStore.this.find(id);
            }

            @Override
            public void flush() {}

            @Override
            public boolean flushAndSet(java.util.List<RefStore.Update> updates) {
                return compareAndSetAll(updates);
            }

            @Override
            public void close() {}
        };
    }

    @Override
    public RefStore refs() {
        return this;
    }

    @Override
    public void forEachId(Consumer<ObjectId> action) {
        new ArrayList<>(objects.keySet()).forEach(action);
    }

    @Override
    public StoreStats stats() {
        long bytes = 0;
        for (byte[] b : objects.values()) {
            bytes += b.length;
        }
        return new StoreStats(objects.size(), bytes, Long.MAX_VALUE);
    }

    @Override
    public Optional<ObjectId> find(String name) {
        return Optional.ofNullable(refs.get(name));
    }

    @Override
    public Optional<byte[]> findValue(String key) {
        return Optional.ofNullable(values.get(key)).map(byte[]::clone);
    }

    @Override
    public synchronized boolean compareAndSetAll(java.util.List<Update> updates, java.util.List<ValueUpdate> vs) {
        for (ValueUpdate v : vs) {
            if (!java.util.Arrays.equals(values.get(v.key()), v.expected())) {
                return false;
            }
        }
        if (!compareAndSetAll(updates)) {
            return false;
        }
        for (ValueUpdate v : vs) {
            if (v.next() == null) {
                values.remove(v.key());
            } else {
                values.put(v.key(), v.next().clone());
            }
        }
        return true;
    }

    @Override
    public synchronized boolean compareAndSetAll(java.util.List<Update> updates) {
        for (Update u : updates) {
            RefStore.checkName(u.name());
            if (!Objects.equals(refs.get(u.name()), u.expected())) {
                return false;
            }
        }
        for (Update u : updates) {
            if (u.next() == null) {
                refs.remove(u.name());
            } else {
                refs.put(u.name(), u.next());
            }
        }
        return true;
    }

    @Override
    public synchronized boolean compareAndSet(String name, ObjectId expected, ObjectId next) {
        RefStore.checkName(name);
        if (!Objects.equals(refs.get(name), expected)) {
            return false;
        }
        if (next == null) {
            refs.remove(name);
        } else {
            refs.put(name, next);
        }
        return true;
    }

    @Override
    public SortedMap<String, ObjectId> list(String prefix) {
        TreeMap<String, ObjectId> out = new TreeMap<>();
        refs.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k, v);
            }
        });
        return out;
    }

    @Override
    public long delete(java.util.Collection<ObjectId> ids) {
        long freed = 0;
        for (ObjectId id : ids) {
            byte[] b = objects.remove(id);
            freed += b == null ? 0 : b.length;
        }
        return freed;
    }

    @Override
    public java.util.Set<ObjectId> shallow() {
        return new java.util.TreeSet<>(shallow);
    }

    @Override
    public void addShallow(java.util.Collection<ObjectId> ids) {
        shallow.addAll(ids);
    }

    @Override
    public void close() {}
}
