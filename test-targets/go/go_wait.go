// A Go program for tests/integration/test_go.py, built by Debian's Go
// with and without symbols: four goroutines park on a channel (the runtime's
// idle threads hold no user frame), and one goroutine, locked to its
// thread, blocks in a read of a pipe nobody writes: that thread holds
// main.blockedRead.  Before, goroutines sleeping in a system call at once
// make the runtime start more threads (Ms), idle once they return: their
// identical stacks must group.  "ready" once all are in place (the reader's
// thread seen inside its read in /proc, however long that takes: a
// "started" signal before the read raced with a slow machine); exits when
// stdin ends.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:noinline
func waitForJob(wg *sync.WaitGroup, jobs chan int) {
	wg.Done()
	<-jobs
}

//go:noinline
func blockedRead(fd int, tid chan int) {
	runtime.LockOSThread()
	buf := make([]byte, 1)
	tid <- syscall.Gettid()
	syscall.Read(fd, buf) // @blocked-read
}

//go:noinline
func sleepInSyscalls(n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := syscall.Timespec{Nsec: 20 * 1000 * 1000}
			syscall.Nanosleep(&ts, nil)
		}()
	}
	wg.Wait()
}

// waitInRead polls until thread tid is inside read(fd): /proc's syscall
// line names the call of a thread off its CPU ("running" while on it).
func waitInRead(tid int, fd int) {
	want := fmt.Sprintf("%d 0x%x ", syscall.SYS_READ, fd)
	for {
		text, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/syscall", tid))
		if err == nil && strings.HasPrefix(string(text), want) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func main() {
	sleepInSyscalls(6)
	var wg sync.WaitGroup
	jobs := make(chan int)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go waitForJob(&wg, jobs)
	}
	wg.Wait()
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		panic(err)
	}
	tid := make(chan int)
	go blockedRead(p[0], tid)
	waitInRead(<-tid, p[0])
	fmt.Println("ready")
	os.Stdin.Read(make([]byte, 1))
}
