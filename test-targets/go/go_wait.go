// A Go program for tests/integration/test_go.py, built by Debian's Go
// with and without symbols: four goroutines park on a channel (the runtime's
// idle threads hold no user frame), and one goroutine, locked to its
// thread, blocks in a read of a pipe nobody writes: that thread holds
// main.blockedRead.  "ready" once all are in place; exits when stdin ends.
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

func main() {
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
