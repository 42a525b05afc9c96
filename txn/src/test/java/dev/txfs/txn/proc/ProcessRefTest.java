package dev.txfs.txn.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ProcessRefTest {
    private final Procs procs = new Procs();

    @AfterEach
    void killProcesses() {
        procs.close();
    }

    @Test
    void of_thisJvm_isAlive() {
        ProcessRef self = ProcessRef.of(ProcessHandle.current().pid()).orElseThrow();

        assertTrue(self.alive());
        assertEquals(ProcInfo.stat(self.pid()).orElseThrow().starttime(), self.starttime());
    }

    @Test
    void alive_afterTheProcessExited_isFalse() throws Exception {
        Process p = procs.sleep();
        ProcessRef ref = ProcessRef.of(p.pid()).orElseThrow();
        assertTrue(ref.alive());

        Procs.kill(p);

        assertFalse(ref.alive());
        assertEquals(Optional.empty(), ProcessRef.of(p.pid()));
    }

    @Test
    void alive_whenThePidHasAnotherStartTime_isFalse() {
        ProcessRef self = ProcessRef.of(ProcessHandle.current().pid()).orElseThrow();

        assertFalse(new ProcessRef(self.pid(), self.starttime() + 1).alive(), "a reused pid is another process");
    }

    @Test
    void of_pidZeroOrNegative_isEmpty() {
        assertEquals(Optional.empty(), ProcessRef.of(0));
        assertEquals(Optional.empty(), ProcessRef.of(-5));
    }
}
