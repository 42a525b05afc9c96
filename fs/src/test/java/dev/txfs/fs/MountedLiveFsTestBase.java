package dev.txfs.fs;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** Tests that each get a fresh {@link MountedLiveFs}, unmounted after the test even when it fails. */
abstract class MountedLiveFsTestBase {
    @TempDir
    Path tmp;

    MountedLiveFs m;

    @BeforeEach
    void mount() throws IOException {
        m = new MountedLiveFs(tmp);
    }

    @AfterEach
    void unmount() throws IOException {
        if (m != null) {
            m.close();
        }
    }
}
