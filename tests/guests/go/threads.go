package main

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"time"
)

func main() {
	runtime.GOMAXPROCS(4)
	var mu sync.Mutex
	total := 0
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				mu.Lock()
				total += 1
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	fmt.Println("total", total)
	ch := make(chan int)
	go func() {
		for i := 0; i < 100; i++ {
			ch <- i
		}
		close(ch)
	}()
	sum := 0
	for v := range ch {
		sum += v
	}
	fmt.Println("sum", sum)
	t0 := time.Now()
	time.Sleep(20 * time.Millisecond)
	fmt.Println("slept", time.Since(t0) >= 20*time.Millisecond)
	timer := time.NewTimer(10 * time.Millisecond)
	<-timer.C
	fmt.Println("timer fired")
	err := exec.Command("/bin/true").Run()
	fmt.Println("exec /bin/true:", err)
}
