// A Go program for tests/integration/test_go.py, built by Debian's Go
// with and without symbols: four goroutines park on a channel (the runtime's
// idle threads hold no user frame), and one goroutine, locked to its
// thread, blocks in a read of a pipe nobody writes: that thread holds
// main.blockedRead.  Before, goroutines sleeping in a system call at once
// make the runtime start more threads (Ms), idle once they return: their
// identical stacks must group.  "ready" once all are in place; exits when
// stdin ends.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
)

//go:noinline
func waitForJob(wg *sync.WaitGroup, jobs chan int) {
	wg.Done()
	<-jobs
}

//go:noinline
func blockedRead(fd int, started chan struct{}) {
	runtime.LockOSThread()
	buf := make([]byte, 1)
	close(started)
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
	started := make(chan struct{})
	go blockedRead(p[0], started)
	<-started
	fmt.Println("ready")
	os.Stdin.Read(make([]byte, 1))
}
